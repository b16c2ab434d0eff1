terraform {
  required_providers {
    tencentcloud = { source = "tencentcloudstack/tencentcloud", version = "1.83.25" }
  }
}

variable "instance_count" {
  default = 2
}

variable "domain" {
  default = "opencvm.test:9480"   # cvm.opencvm.test etc. resolve to cvmd; 9480 is its port
}

provider "tencentcloud" {
  region   = "ap-guangzhou"
  protocol = "HTTP"
  domain   = var.domain
}

data "tencentcloud_images" "tiny" {
  image_type       = ["PUBLIC_IMAGE"]
  image_name_regex = "Tiny"
}

resource "tencentcloud_vpc" "app" {
  name       = "app"
  cidr_block = "10.0.0.0/16"
  tags       = { app = "demo" }
}

resource "tencentcloud_subnet" "web" {
  vpc_id            = tencentcloud_vpc.app.id
  name              = "web"
  cidr_block        = "10.0.1.0/24"
  availability_zone = "ap-guangzhou-3"
}

resource "tencentcloud_security_group" "web" {
  name = "web"
}

resource "tencentcloud_security_group_rule_set" "web" {
  security_group_id = tencentcloud_security_group.web.id
  ingress {
    action     = "ACCEPT"
    cidr_block = "10.0.0.0/16"
    protocol   = "TCP"
    port       = "22"
  }
  egress {
    action     = "ACCEPT"
    cidr_block = "0.0.0.0/0"
    protocol   = "ALL"
    port       = "ALL"
  }
}

resource "tencentcloud_key_pair" "me" {
  key_name   = "me"
  public_key = file(pathexpand("~/.ssh/id_ed25519.pub"))
}

resource "tencentcloud_instance" "web" {
  count                   = var.instance_count
  instance_name           = "web-${count.index}"
  availability_zone       = "ap-guangzhou-3"
  image_id                = data.tencentcloud_images.tiny.images[0].image_id
  instance_type           = "T1.NANO1"
  vpc_id                  = tencentcloud_vpc.app.id
  subnet_id               = tencentcloud_subnet.web.id
  orderly_security_groups = [tencentcloud_security_group.web.id]
  key_ids                 = [tencentcloud_key_pair.me.id]
  tags                    = { app = "demo" }
}

output "private_ips" {
  value = tencentcloud_instance.web[*].private_ip
}
