# What the end-to-end test applies: one of each resource the provider manages on OpenCVM, each
# tagged where the resource takes tags. The test passes the variables as TF_VAR_* variables.
terraform {
  required_providers {
    tencentcloud = {
      source  = "tencentcloudstack/tencentcloud"
      version = "1.83.25"
    }
  }
}

variable "secret_id" {}
variable "secret_key" {
  sensitive = true
}
variable "domain" {}
variable "public_key" {}

provider "tencentcloud" {
  secret_id  = var.secret_id
  secret_key = var.secret_key
  region     = "ap-guangzhou"
  protocol   = "HTTP"
  domain     = var.domain
}

locals {
  zone = "ap-guangzhou-3"
  tags = { team = "tf", env = "test" }
}

data "tencentcloud_images" "tiny" {
  image_type       = ["PUBLIC_IMAGE"]
  image_name_regex = "Tiny"
}

resource "tencentcloud_vpc" "main" {
  name       = "tf-vpc"
  cidr_block = "10.0.0.0/16"
  tags       = local.tags
}

resource "tencentcloud_subnet" "web" {
  vpc_id            = tencentcloud_vpc.main.id
  name              = "tf-subnet"
  cidr_block        = "10.0.1.0/24"
  availability_zone = local.zone
  tags              = local.tags
}

resource "tencentcloud_security_group" "web" {
  name        = "tf-sg"
  description = "web servers"
  tags        = local.tags
}

resource "tencentcloud_security_group_rule_set" "web" {
  security_group_id = tencentcloud_security_group.web.id
  ingress {
    action      = "ACCEPT"
    cidr_block  = "10.0.0.0/16"
    protocol    = "TCP"
    port        = "22"
    description = "ssh from the vpc"
  }
  egress {
    action     = "ACCEPT"
    cidr_block = "0.0.0.0/0"
    protocol   = "ALL"
    port       = "ALL"
  }
}

resource "tencentcloud_key_pair" "admin" {
  key_name   = "tf_admin"
  public_key = var.public_key
  tags       = local.tags
}

resource "tencentcloud_instance" "web" {
  instance_name           = "tf-web"
  availability_zone       = local.zone
  image_id                = data.tencentcloud_images.tiny.images[0].image_id
  instance_type           = "T1.NANO1"
  system_disk_type        = "CLOUD_PREMIUM"
  system_disk_size        = 10
  vpc_id                  = tencentcloud_vpc.main.id
  subnet_id               = tencentcloud_subnet.web.id
  orderly_security_groups = [tencentcloud_security_group.web.id]
  key_ids                 = [tencentcloud_key_pair.admin.id]
  tags                    = local.tags
}

resource "tencentcloud_cbs_storage" "data" {
  storage_name      = "tf-data"
  storage_type      = "CLOUD_PREMIUM"
  storage_size      = 10
  availability_zone = local.zone
  tags              = local.tags
}

resource "tencentcloud_cbs_storage_attachment" "data" {
  storage_id  = tencentcloud_cbs_storage.data.id
  instance_id = tencentcloud_instance.web.id
}

resource "tencentcloud_cbs_snapshot" "data" {
  storage_id    = tencentcloud_cbs_storage_attachment.data.storage_id
  snapshot_name = "tf-snap"
  tags          = local.tags
}

# The provider asks for a capture of the running guest only with force_poweroff.
resource "tencentcloud_image" "web" {
  image_name        = "tf-web-image"
  instance_id       = tencentcloud_instance.web.id
  image_description = "captured by terraform"
  force_poweroff    = true
  tags              = local.tags
}

resource "tencentcloud_route_table" "main" {
  vpc_id = tencentcloud_vpc.main.id
  name   = "tf-rtb"
  tags   = local.tags
}

resource "tencentcloud_route_table_entry" "via_web" {
  route_table_id         = tencentcloud_route_table.main.id
  destination_cidr_block = "10.9.0.0/16"
  next_type              = "NORMAL_CVM"
  next_hub               = tencentcloud_instance.web.private_ip
  description            = "through the web instance"
}
