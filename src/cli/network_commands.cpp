#include "cli/network_commands.h"

#include <iostream>

#include "cli/cli_support.h"
#include "cli/output.h"

namespace cvm::cli {

using nlohmann::json;

NetworkCommands::NetworkCommands(CLI::App& app) {
  vpc_ = app.add_subcommand("vpc", "virtual private clouds: create, ls, rm");
  vpc_->require_subcommand(1);
  vpc_create_ = vpc_->add_subcommand("create", "create a VPC");
  vpc_create_->add_option("--name", name_, "VPC name")->required();
  vpc_create_->add_option("--cidr", cidr_, "address block, e.g. 10.0.0.0/16")->required();
  vpc_ls_ = vpc_->add_subcommand("ls", "list VPCs");
  vpc_rm_ = vpc_->add_subcommand("rm", "delete a VPC (and its empty subnets)");
  vpc_rm_->add_option("vpc", id_, "VPC id")->required();

  subnet_ = app.add_subcommand("subnet", "subnets of a VPC: create, ls, rm");
  subnet_->require_subcommand(1);
  subnet_create_ = subnet_->add_subcommand("create", "create a subnet in a VPC");
  subnet_create_->add_option("vpc", vpc_id_, "VPC id")->required();
  subnet_create_->add_option("--cidr", cidr_, "address block inside the VPC's")->required();
  subnet_create_->add_option("--name", name_, "subnet name")->required();
  subnet_create_->add_option("--zone", zone_, "zone (default: the region's first zone)");
  subnet_ls_ = subnet_->add_subcommand("ls", "list subnets");
  subnet_ls_->add_option("--vpc", vpc_id_, "only this VPC's");
  subnet_rm_ = subnet_->add_subcommand("rm", "delete a subnet without instances");
  subnet_rm_->add_option("subnet", id_, "subnet id")->required();

  sg_ = app.add_subcommand("sg", "security groups: create, ls, rm, rule, attach, detach");
  sg_->require_subcommand(1);
  sg_create_ = sg_->add_subcommand("create", "create an empty security group (denies all)");
  sg_create_->add_option("name", name_, "group name")->required();
  sg_create_->add_option("--description", description_, "group description");
  sg_ls_ = sg_->add_subcommand("ls", "list security groups");
  sg_rm_ = sg_->add_subcommand("rm", "delete a security group");
  sg_rm_->add_option("sg", id_, "security group id")->required();
  sg_attach_ = sg_->add_subcommand("attach", "bind groups to an instance (after its others)");
  sg_attach_->add_option("instance", instance_id_, "instance id")->required();
  sg_attach_->add_option("groups", ids_, "security group ids")->required();
  sg_detach_ = sg_->add_subcommand("detach", "unbind groups from an instance");
  sg_detach_->add_option("instance", instance_id_, "instance id")->required();
  sg_detach_->add_option("groups", ids_, "security group ids")->required();

  rule_ = sg_->add_subcommand("rule", "a group's ordered rules: ls, add, rm");
  rule_->require_subcommand(1);
  rule_ls_ = rule_->add_subcommand("ls", "list a group's rules, first match at the top");
  rule_ls_->add_option("sg", id_, "security group id")->required();
  rule_add_ = rule_->add_subcommand("add", "add a rule (appended unless --index)");
  rule_add_->add_option("sg", id_, "security group id")->required();
  rule_add_->add_option("--protocol", protocol_, "TCP (default), UDP, ICMP, ICMPv6, GRE, ALL");
  rule_add_->add_option("--port", port_, "80, 8000-8010, 22,80,443 or ALL (default)");
  rule_add_->add_option("--source", source_, "CIDR block, IPv6 block or security group id")
      ->required();
  rule_add_->add_option("--action", action_, "ACCEPT (default) or DROP");
  rule_add_->add_option("--index", index_, "insert at this position (0 = top)");
  rule_add_->add_option("--description", description_, "rule description");
  rule_add_->add_flag("--egress", egress_, "an outbound rule (default: inbound)");
  rule_rm_ = rule_->add_subcommand("rm", "delete rules by position");
  rule_rm_->add_option("sg", id_, "security group id")->required();
  rule_rm_->add_option("indexes", indexes_, "positions (PolicyIndex) to delete")->required();
  rule_rm_->add_flag("--egress", egress_, "outbound rules (default: inbound)");
}

std::optional<int> NetworkCommands::Run(ApiClient& client, const std::string& output) {
  if (!vpc_->parsed() && !subnet_->parsed() && !sg_->parsed()) return std::nullopt;
  auto print = [&](const json& r) { return PrintResponse(r, output); };
  // An action whose answer is printed (or only its success, exit 0).
  auto call = [&](const std::string& action, const json& params, bool show = false) {
    auto r = client.Call(action, params);
    if (!r.ok()) return ReportError(r.status());
    return show ? print(*r) : 0;
  };
  // A listing: JSON as is, or the chosen columns of every item.
  auto list = [&](const std::string& action, const json& params, const std::string& set,
                  const std::vector<std::string>& headers,
                  const std::function<std::vector<std::string>(const json&)>& row) {
    auto all = DescribeAll(client, action, params, set);
    if (!all.ok()) return ReportError(all.status());
    if (output == "json") return print(*all);
    std::vector<std::vector<std::string>> rows;
    for (const auto& item : *all) rows.push_back(row(item));
    PrintColumns(std::cout, headers, rows);
    return 0;
  };
  const std::string yes = "yes", no = "";

  if (vpc_create_->parsed()) {
    return call("CreateVpc", {{"VpcName", name_}, {"CidrBlock", cidr_}}, true);
  }
  if (vpc_ls_->parsed()) {
    return list("DescribeVpcs", json::object(), "VpcSet",
                {"ID", "NAME", "CIDR", "DEFAULT", "CREATED"}, [&](const json& v) {
                  return std::vector<std::string>{
                      Str(v, "VpcId"), Str(v, "VpcName"), Str(v, "CidrBlock"),
                      v.value("IsDefault", false) ? yes : no, Str(v, "CreatedTime")};
                });
  }
  if (vpc_rm_->parsed()) return call("DeleteVpc", {{"VpcId", id_}});

  if (subnet_create_->parsed()) {
    if (zone_.empty()) {
      auto zone = DefaultZone(client);
      if (!zone.ok()) return ReportError(zone.status());
      zone_ = *zone;
    }
    return call("CreateSubnet",
                {{"VpcId", vpc_id_}, {"SubnetName", name_}, {"CidrBlock", cidr_}, {"Zone", zone_}},
                true);
  }
  if (subnet_ls_->parsed()) {
    json p = json::object();
    if (!vpc_id_.empty()) p["Filters"] = {{{"Name", "vpc-id"}, {"Values", {vpc_id_}}}};
    return list("DescribeSubnets", p, "SubnetSet",
                {"ID", "NAME", "VPC", "CIDR", "ZONE", "FREE", "DEFAULT"}, [&](const json& s) {
                  return std::vector<std::string>{
                      Str(s, "SubnetId"),
                      Str(s, "SubnetName"),
                      Str(s, "VpcId"),
                      Str(s, "CidrBlock"),
                      Str(s, "Zone"),
                      std::to_string(s.value("AvailableIpAddressCount", 0)),
                      s.value("IsDefault", false) ? yes : no};
                });
  }
  if (subnet_rm_->parsed()) return call("DeleteSubnet", {{"SubnetId", id_}});

  if (sg_create_->parsed()) {
    return call("CreateSecurityGroup", {{"GroupName", name_}, {"GroupDescription", description_}},
                true);
  }
  if (sg_ls_->parsed()) {
    return list("DescribeSecurityGroups", json::object(), "SecurityGroupSet",
                {"ID", "NAME", "DEFAULT", "DESCRIPTION", "UPDATED"}, [&](const json& g) {
                  return std::vector<std::string>{
                      Str(g, "SecurityGroupId"), Str(g, "SecurityGroupName"),
                      g.value("IsDefault", false) ? yes : no, Str(g, "SecurityGroupDesc"),
                      Str(g, "UpdateTime")};
                });
  }
  if (sg_rm_->parsed()) return call("DeleteSecurityGroup", {{"SecurityGroupId", id_}});
  if (sg_attach_->parsed() || sg_detach_->parsed()) {
    return call(sg_attach_->parsed() ? "AssociateSecurityGroups" : "DisassociateSecurityGroups",
                {{"InstanceIds", {instance_id_}}, {"SecurityGroupIds", ids_}});
  }

  const char* direction = egress_ ? "Egress" : "Ingress";
  if (rule_ls_->parsed()) {
    auto r = client.Call("DescribeSecurityGroupPolicies", {{"SecurityGroupId", id_}});
    if (!r.ok()) return ReportError(r.status());
    const json& set = (*r)["SecurityGroupPolicySet"];
    if (output == "json") return print(set);
    std::vector<std::vector<std::string>> rows;
    for (const char* dir : {"Ingress", "Egress"}) {
      for (const auto& p : set.value(dir, json::array())) {
        std::string source = Str(p, "CidrBlock");
        if (source.empty()) source = Str(p, "Ipv6CidrBlock");
        if (source.empty()) source = Str(p, "SecurityGroupId");
        rows.push_back({dir, std::to_string(p.value("PolicyIndex", 0)), Str(p, "Protocol"),
                        Str(p, "Port"), source, Str(p, "Action"), Str(p, "PolicyDescription")});
      }
    }
    std::cout << "Version " << Str(set, "Version") << "\n";
    PrintColumns(std::cout,
                 {"DIRECTION", "INDEX", "PROTOCOL", "PORT", "PEER", "ACTION", "DESCRIPTION"}, rows);
    return 0;
  }
  if (rule_add_->parsed()) {
    json rule = {{"Protocol", protocol_},
                 {"Port", port_},
                 {"Action", action_},
                 {"PolicyDescription", description_}};
    const bool group = source_.rfind("sg-", 0) == 0;
    rule[group                                    ? "SecurityGroupId"
         : source_.find(':') != std::string::npos ? "Ipv6CidrBlock"
                                                  : "CidrBlock"] = source_;
    if (index_ >= 0) rule["PolicyIndex"] = index_;
    return call(
        "CreateSecurityGroupPolicies",
        {{"SecurityGroupId", id_}, {"SecurityGroupPolicySet", {{direction, json::array({rule})}}}});
  }
  if (rule_rm_->parsed()) {
    json items = json::array();
    for (int i : indexes_) items.push_back({{"PolicyIndex", i}});
    return call("DeleteSecurityGroupPolicies",
                {{"SecurityGroupId", id_}, {"SecurityGroupPolicySet", {{direction, items}}}});
  }
  return 0;
}

}  // namespace cvm::cli
