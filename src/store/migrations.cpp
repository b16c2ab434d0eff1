#include "store/migrations.h"

namespace cvm::store {

const std::vector<Migration>& AllMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "accounts and access keys", R"sql(
CREATE TABLE accounts (
  uin          TEXT PRIMARY KEY,     -- root account id (Tencent Uin, decimal digits)
  app_id       INTEGER NOT NULL UNIQUE,
  name         TEXT NOT NULL UNIQUE,
  is_admin     INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL
);
CREATE TABLE access_keys (
  secret_id    TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL REFERENCES accounts(uin),  -- root account the key acts for
  user_uin     TEXT NOT NULL,                           -- the identity (root or sub-user)
  secret_enc   TEXT NOT NULL,                           -- AES-256-GCM under the master key
  status       TEXT NOT NULL DEFAULT 'Active',
  created_at   INTEGER NOT NULL
);
CREATE INDEX access_keys_by_user ON access_keys(user_uin);
)sql"},
      {2, "images, instances, disks, key pairs, operations", R"sql(
CREATE TABLE images (
  image_id     TEXT PRIMARY KEY,
  owner_uin    TEXT,                 -- NULL for public images
  image_type   TEXT NOT NULL,        -- PUBLIC_IMAGE | PRIVATE_IMAGE | MARKET_IMAGE
  image_source TEXT NOT NULL,        -- OFFICIAL | CREATE_IMAGE | EXTERNAL_IMPORT
  name         TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  os_name      TEXT NOT NULL,
  platform     TEXT NOT NULL,
  architecture TEXT NOT NULL,
  state        TEXT NOT NULL,        -- CREATING | NORMAL | CREATEFAILED | IMPORTING | ...
  size_gb      INTEGER NOT NULL,     -- virtual size, GiB (rounded up)
  virtual_size INTEGER NOT NULL,     -- bytes
  file_path    TEXT NOT NULL,
  default_user TEXT NOT NULL DEFAULT 'root',
  min_memory_mib INTEGER NOT NULL DEFAULT 128,
  deleted      INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL
);
CREATE TABLE instances (
  instance_id  TEXT PRIMARY KEY,
  uuid         TEXT NOT NULL,
  owner_uin    TEXT NOT NULL,
  name         TEXT NOT NULL,
  host_name    TEXT NOT NULL,
  instance_type TEXT NOT NULL,
  cpu          INTEGER NOT NULL,
  memory_mib   INTEGER NOT NULL,
  zone         TEXT NOT NULL,
  region       TEXT NOT NULL,
  image_id     TEXT NOT NULL,
  state        TEXT NOT NULL,
  key_ids      TEXT NOT NULL DEFAULT '[]',   -- JSON array
  password_hash TEXT,
  user_data    TEXT NOT NULL DEFAULT '',
  mac          TEXT NOT NULL,
  private_ip   TEXT NOT NULL DEFAULT '',
  ssh_port     INTEGER NOT NULL DEFAULT 0,
  state_reason TEXT NOT NULL DEFAULT '',
  client_token TEXT,
  latest_operation TEXT NOT NULL DEFAULT '',
  latest_operation_state TEXT NOT NULL DEFAULT '',
  latest_operation_request_id TEXT NOT NULL DEFAULT '',
  latest_operation_error TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  started_at   INTEGER NOT NULL DEFAULT 0,
  deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX instances_by_owner ON instances(owner_uin, deleted, created_at);
CREATE UNIQUE INDEX instances_by_token ON instances(owner_uin, client_token, instance_id);
CREATE TABLE disks (
  disk_id      TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  name         TEXT NOT NULL,
  usage        TEXT NOT NULL,        -- SYSTEM_DISK | DATA_DISK
  disk_type    TEXT NOT NULL,
  size_gb      INTEGER NOT NULL,
  zone         TEXT NOT NULL,
  state        TEXT NOT NULL,        -- UNATTACHED | ATTACHING | ATTACHED | DETACHING | ...
  instance_id  TEXT,
  image_id     TEXT,                 -- backing image of a system disk
  delete_with_instance INTEGER NOT NULL DEFAULT 1,
  file_path    TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX disks_by_owner ON disks(owner_uin, deleted);
CREATE INDEX disks_by_instance ON disks(instance_id);
CREATE TABLE key_pairs (
  key_id       TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  name         TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  public_key   TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX key_pairs_by_name ON key_pairs(owner_uin, name);
CREATE TABLE operations (
  operation_id TEXT PRIMARY KEY,
  request_id   TEXT NOT NULL,
  owner_uin    TEXT NOT NULL,
  caller_uin   TEXT NOT NULL,
  action       TEXT NOT NULL,        -- what the engine does: LAUNCH, START, STOP, ...
  api_action   TEXT NOT NULL,        -- the API action that asked for it
  resource_id  TEXT NOT NULL,
  args         TEXT NOT NULL DEFAULT '{}',
  step         TEXT NOT NULL DEFAULT '',
  state        TEXT NOT NULL,        -- PENDING | RUNNING | SUCCESS | FAILED
  error_code   TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX operations_unfinished ON operations(state, created_at);
CREATE INDEX operations_by_resource ON operations(resource_id, created_at);
)sql"},
      {3, "block storage: disk attributes, snapshots", R"sql(
ALTER TABLE disks ADD COLUMN portable INTEGER NOT NULL DEFAULT 1;
ALTER TABLE disks ADD COLUMN attached_at INTEGER NOT NULL DEFAULT 0;  -- orders a VM's disks
ALTER TABLE disks ADD COLUMN last_instance_id TEXT NOT NULL DEFAULT '';
ALTER TABLE disks ADD COLUMN error_prompt TEXT NOT NULL DEFAULT '';   -- why the last action failed
ALTER TABLE disks ADD COLUMN source_snapshot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE disks ADD COLUMN client_token TEXT;
CREATE INDEX disks_by_token ON disks(owner_uin, client_token);
CREATE TABLE snapshots (
  snapshot_id  TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  name         TEXT NOT NULL,
  disk_id      TEXT NOT NULL,
  disk_usage   TEXT NOT NULL,
  disk_size_gb INTEGER NOT NULL,
  zone         TEXT NOT NULL,
  state        TEXT NOT NULL,        -- CREATING | NORMAL | ROLLBACKING
  percent      INTEGER NOT NULL DEFAULT 0,
  file_path    TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX snapshots_by_owner ON snapshots(owner_uin, deleted);
CREATE INDEX snapshots_by_disk ON snapshots(disk_id);
)sql"},
      {4, "cam: users, groups, policies, audit", R"sql(
CREATE TABLE cam_users (
  uid          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, like every CAM id here
  uin          TEXT NOT NULL UNIQUE,  -- sub-user uin (12 digits, never a root account's)
  owner_uin    TEXT NOT NULL REFERENCES accounts(uin),
  name         TEXT NOT NULL,
  remark       TEXT NOT NULL DEFAULT '',
  console_login INTEGER NOT NULL DEFAULT 0,
  phone_num    TEXT NOT NULL DEFAULT '',
  country_code TEXT NOT NULL DEFAULT '',
  email        TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX cam_users_by_name ON cam_users(owner_uin, name);
CREATE TABLE cam_groups (
  group_id     INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_uin    TEXT NOT NULL REFERENCES accounts(uin),
  name         TEXT NOT NULL,
  remark       TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX cam_groups_by_name ON cam_groups(owner_uin, name);
CREATE TABLE cam_group_members (
  group_id     INTEGER NOT NULL REFERENCES cam_groups(group_id) ON DELETE CASCADE,
  user_uin     TEXT NOT NULL REFERENCES cam_users(uin) ON DELETE CASCADE,
  added_at     INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_uin)
);
CREATE INDEX cam_group_members_by_user ON cam_group_members(user_uin);
CREATE TABLE cam_policies (
  policy_id    INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_uin    TEXT,                 -- NULL for preset (QCS) policies
  name         TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  document     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX cam_policies_by_name ON cam_policies(COALESCE(owner_uin, ''), name);
CREATE TABLE cam_attachments (
  policy_id    INTEGER NOT NULL REFERENCES cam_policies(policy_id) ON DELETE CASCADE,
  principal_type TEXT NOT NULL,      -- user | group
  principal_id TEXT NOT NULL,        -- user uin or group id
  owner_uin    TEXT NOT NULL,
  operate_uin  TEXT NOT NULL,
  attached_at  INTEGER NOT NULL,
  PRIMARY KEY (policy_id, principal_type, principal_id)
);
CREATE INDEX cam_attachments_by_principal ON cam_attachments(principal_type, principal_id);
CREATE TABLE audit_log (
  seq          INTEGER PRIMARY KEY,
  time_ms      INTEGER NOT NULL,
  request_id   TEXT NOT NULL,
  owner_uin    TEXT NOT NULL,        -- '' when the caller was not authenticated
  caller_uin   TEXT NOT NULL,
  secret_id    TEXT NOT NULL,
  service      TEXT NOT NULL,
  action       TEXT NOT NULL,
  region       TEXT NOT NULL,
  resources    TEXT NOT NULL,        -- JSON array of resource ids
  source_ip    TEXT NOT NULL,
  result_code  TEXT NOT NULL         -- '' for success, else the error code
);
CREATE INDEX audit_log_by_owner ON audit_log(owner_uin, time_ms);
ALTER TABLE access_keys ADD COLUMN description TEXT NOT NULL DEFAULT '';
)sql"},
      {5, "DescribeInstances indexes and counts, tags", R"sql(
-- Listing order (newest first, id as tie-breaker) straight from an index: no sort, and
-- COUNT(*) and deep offsets read only index entries.
CREATE INDEX instances_listing ON instances(owner_uin, deleted, created_at DESC, instance_id);
DROP INDEX instances_by_owner;
-- Each filter column's index keeps the listing order after it, so the planner takes it (no
-- sort, only matching entries) instead of walking the listing index and testing every row.
CREATE INDEX instances_by_state ON instances(owner_uin, deleted, state, created_at DESC, instance_id);
CREATE INDEX instances_by_zone ON instances(owner_uin, deleted, zone, created_at DESC, instance_id);
CREATE INDEX instances_by_image ON instances(owner_uin, deleted, image_id, created_at DESC, instance_id);
CREATE INDEX instances_by_type ON instances(owner_uin, deleted, instance_type, created_at DESC, instance_id);
CREATE INDEX instances_by_name ON instances(owner_uin, deleted, name, created_at DESC, instance_id);
CREATE INDEX instances_by_private_ip ON instances(owner_uin, deleted, private_ip, created_at DESC, instance_id);
CREATE INDEX instances_by_uuid ON instances(owner_uin, deleted, uuid, created_at DESC, instance_id);
-- Live (not deleted) instances per owner, kept by triggers whoever writes: an unfiltered
-- DescribeInstances reads its TotalCount here instead of counting 10,000 index entries.
CREATE TABLE instance_counts (
  owner_uin    TEXT PRIMARY KEY,
  live         INTEGER NOT NULL
);
INSERT INTO instance_counts(owner_uin, live)
  SELECT owner_uin, COUNT(*) FROM instances WHERE deleted = 0 GROUP BY owner_uin;
CREATE TRIGGER instance_counts_insert AFTER INSERT ON instances WHEN NEW.deleted = 0 BEGIN
  INSERT INTO instance_counts(owner_uin, live) VALUES (NEW.owner_uin, 1)
    ON CONFLICT(owner_uin) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER instance_counts_update AFTER UPDATE OF deleted, owner_uin ON instances
WHEN (OLD.deleted = 0) != (NEW.deleted = 0) OR OLD.owner_uin != NEW.owner_uin BEGIN
  UPDATE instance_counts SET live = live - 1 WHERE owner_uin = OLD.owner_uin AND OLD.deleted = 0;
  INSERT INTO instance_counts(owner_uin, live) SELECT NEW.owner_uin, 1 WHERE NEW.deleted = 0
    ON CONFLICT(owner_uin) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER instance_counts_delete AFTER DELETE ON instances WHEN OLD.deleted = 0 BEGIN
  UPDATE instance_counts SET live = live - 1 WHERE owner_uin = OLD.owner_uin;
END;
-- Tags of any resource (TagSpecification), for output and the tag filters.
CREATE TABLE tags (
  resource_id  TEXT NOT NULL,
  owner_uin    TEXT NOT NULL,
  tag_key      TEXT NOT NULL,
  tag_value    TEXT NOT NULL,
  PRIMARY KEY (resource_id, tag_key)
);
CREATE INDEX tags_by_key ON tags(owner_uin, tag_key, tag_value);
)sql"},
      {6, "custom images: capture, import, sharing, deferred file release", R"sql(
ALTER TABLE images ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';  -- why it failed
ALTER TABLE images ADD COLUMN source_id TEXT NOT NULL DEFAULT '';     -- instance or import file
ALTER TABLE images ADD COLUMN snapshot_set TEXT NOT NULL DEFAULT '[]'; -- data disk snapshots, JSON
-- A deleted custom image keeps its file while system disks are overlays on it; the engine
-- frees it with the last one and then clears file_path.
CREATE INDEX images_by_owner ON images(owner_uin, deleted);
CREATE INDEX disks_by_image ON disks(image_id, deleted);
CREATE TABLE image_shares (
  image_id     TEXT NOT NULL,
  account_uin  TEXT NOT NULL,        -- the receiving root account
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (image_id, account_uin)
);
CREATE INDEX image_shares_by_account ON image_shares(account_uin);
)sql"},
      {7, "networks: VPCs, subnets, security groups and their rules, addresses", R"sql(
-- table_id is the VPC's number in the data path: its routing table, packet mark and conntrack
-- zone, so that VPCs with overlapping CIDRs stay apart.
CREATE TABLE vpcs (
  vpc_id       TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  name         TEXT NOT NULL,
  cidr         TEXT NOT NULL,
  is_default   INTEGER NOT NULL DEFAULT 0,
  enable_multicast INTEGER NOT NULL DEFAULT 0,
  dns_servers  TEXT NOT NULL DEFAULT '[]',   -- JSON array
  domain_name  TEXT NOT NULL DEFAULT '',
  table_id     INTEGER NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL
);
CREATE INDEX vpcs_by_owner ON vpcs(owner_uin, region, created_at);
CREATE TABLE subnets (
  subnet_id    TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  vpc_id       TEXT NOT NULL,
  zone         TEXT NOT NULL,
  name         TEXT NOT NULL,
  cidr         TEXT NOT NULL,
  is_default   INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL
);
CREATE INDEX subnets_by_vpc ON subnets(vpc_id);
CREATE INDEX subnets_by_owner ON subnets(owner_uin, created_at);
CREATE TABLE security_groups (
  sg_id        TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  project_id   INTEGER NOT NULL DEFAULT 0,
  name         TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  is_default   INTEGER NOT NULL DEFAULT 0,
  version      INTEGER NOT NULL DEFAULT 0,    -- bumped by every rule change
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX security_groups_by_owner ON security_groups(owner_uin, created_at);
-- One row per rule; position is the rule's PolicyIndex within its direction (0 = first match).
CREATE TABLE sg_rules (
  sg_id        TEXT NOT NULL,
  direction    TEXT NOT NULL,                 -- INGRESS | EGRESS
  position     INTEGER NOT NULL,
  protocol     TEXT NOT NULL,                 -- TCP | UDP | ICMP | ICMPV6 | GRE | ALL
  port         TEXT NOT NULL DEFAULT 'ALL',   -- ALL, 80, 8000-8010 or 22,80,443
  cidr         TEXT NOT NULL DEFAULT '',
  ipv6_cidr    TEXT NOT NULL DEFAULT '',
  peer_sg_id   TEXT NOT NULL DEFAULT '',      -- source/destination: that group's members
  action       TEXT NOT NULL,                 -- ACCEPT | DROP
  description  TEXT NOT NULL DEFAULT '',
  modified_at  INTEGER NOT NULL,
  PRIMARY KEY (sg_id, direction, position)
);
CREATE INDEX sg_rules_by_peer ON sg_rules(peer_sg_id);
-- An instance's groups in binding order (evaluated in that order).
CREATE TABLE instance_security_groups (
  instance_id  TEXT NOT NULL,
  sg_id        TEXT NOT NULL,
  position     INTEGER NOT NULL,
  PRIMARY KEY (instance_id, sg_id)
);
CREATE INDEX instance_security_groups_by_sg ON instance_security_groups(sg_id);
ALTER TABLE instances ADD COLUMN vpc_id TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN subnet_id TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN public_ip TEXT NOT NULL DEFAULT '';
-- Instances from before networks had QEMU user networking's fixed address: the engine gives
-- them one in their account's default subnet at their next boot.
UPDATE instances SET private_ip = '' WHERE private_ip = '10.0.2.15';
CREATE UNIQUE INDEX instances_private_ip_unique ON instances(subnet_id, private_ip)
  WHERE deleted = 0 AND private_ip != '';
CREATE UNIQUE INDEX instances_public_ip_unique ON instances(public_ip)
  WHERE deleted = 0 AND public_ip != '';
CREATE INDEX instances_by_subnet ON instances(subnet_id, deleted);
)sql"},
      {8, "images: the region a custom image lives in (SyncImages)", R"sql(
-- '': every region (public and market images; custom images made before this version).
ALTER TABLE images ADD COLUMN region TEXT NOT NULL DEFAULT '';
)sql"},
      {9, "audit log: records packed per account and writer batch", R"sql(
-- One row per account per writer batch instead of one per call: storing a call's record was a
-- third of a signed request's CPU. records: JSON array, oldest first, of
-- [time_ms, request_id, caller_uin, secret_id, service, action, region, [resources], source_ip,
-- result_code]; record_count lets a query count a row without decoding it.
CREATE TABLE audit_batches (
  id           INTEGER PRIMARY KEY,
  owner_uin    TEXT NOT NULL,        -- '' when the caller was not authenticated
  first_ms     INTEGER NOT NULL,
  last_ms      INTEGER NOT NULL,
  record_count INTEGER NOT NULL,
  records      TEXT NOT NULL
);
CREATE INDEX audit_batches_by_owner ON audit_batches(owner_uin, last_ms);
INSERT INTO audit_batches(owner_uin, first_ms, last_ms, record_count, records)
  SELECT owner_uin, time_ms, time_ms, 1,
         json_array(json_array(time_ms, request_id, caller_uin, secret_id, service, action,
                               region, json(resources), source_ip, result_code))
  FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
)sql"},
      {10, "regions: every regional resource knows its region", R"sql(
-- A resource exists only in its region. Disks and snapshots take theirs from their zone (a zone
-- is named <region>-<n>); key pairs and security groups from an instance that uses them, else
-- the default configuration's first region.
ALTER TABLE disks ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE disks SET region = rtrim(rtrim(zone, '0123456789'), '-');
ALTER TABLE snapshots ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE snapshots SET region = rtrim(rtrim(zone, '0123456789'), '-');
ALTER TABLE key_pairs ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE key_pairs SET region = COALESCE((SELECT i.region FROM instances i, json_each(i.key_ids) j
                                        WHERE j.value = key_pairs.key_id LIMIT 1), 'ap-guangzhou');
ALTER TABLE security_groups ADD COLUMN region TEXT NOT NULL DEFAULT '';
UPDATE security_groups SET region = COALESCE((SELECT i.region FROM instances i
    JOIN instance_security_groups b ON b.instance_id = i.instance_id
    WHERE b.sg_id = security_groups.sg_id LIMIT 1), 'ap-guangzhou');
DROP INDEX key_pairs_by_name;
CREATE UNIQUE INDEX key_pairs_by_name ON key_pairs(owner_uin, region, name);
DROP INDEX disks_by_owner;
CREATE INDEX disks_by_owner ON disks(owner_uin, region, deleted);
DROP INDEX snapshots_by_owner;
CREATE INDEX snapshots_by_owner ON snapshots(owner_uin, region, deleted);
DROP INDEX security_groups_by_owner;
CREATE INDEX security_groups_by_owner ON security_groups(owner_uin, region, created_at);
-- Instance listings are per account and region: the region joins every listing index.
DROP INDEX instances_listing;
DROP INDEX instances_by_state;
DROP INDEX instances_by_zone;
DROP INDEX instances_by_image;
DROP INDEX instances_by_type;
DROP INDEX instances_by_name;
DROP INDEX instances_by_private_ip;
DROP INDEX instances_by_uuid;
CREATE INDEX instances_listing ON instances(owner_uin, region, deleted, created_at DESC, instance_id);
CREATE INDEX instances_by_state ON instances(owner_uin, region, deleted, state, created_at DESC, instance_id);
CREATE INDEX instances_by_zone ON instances(owner_uin, region, deleted, zone, created_at DESC, instance_id);
CREATE INDEX instances_by_image ON instances(owner_uin, region, deleted, image_id, created_at DESC, instance_id);
CREATE INDEX instances_by_type ON instances(owner_uin, region, deleted, instance_type, created_at DESC, instance_id);
CREATE INDEX instances_by_name ON instances(owner_uin, region, deleted, name, created_at DESC, instance_id);
CREATE INDEX instances_by_private_ip ON instances(owner_uin, region, deleted, private_ip, created_at DESC, instance_id);
CREATE INDEX instances_by_uuid ON instances(owner_uin, region, deleted, uuid, created_at DESC, instance_id);
-- Live instances per account and region (an unfiltered DescribeInstances' TotalCount).
DROP TRIGGER instance_counts_insert;
DROP TRIGGER instance_counts_update;
DROP TRIGGER instance_counts_delete;
DROP TABLE instance_counts;
CREATE TABLE instance_counts (
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  live         INTEGER NOT NULL,
  PRIMARY KEY (owner_uin, region)
);
INSERT INTO instance_counts(owner_uin, region, live)
  SELECT owner_uin, region, COUNT(*) FROM instances WHERE deleted = 0 GROUP BY owner_uin, region;
CREATE TRIGGER instance_counts_insert AFTER INSERT ON instances WHEN NEW.deleted = 0 BEGIN
  INSERT INTO instance_counts(owner_uin, region, live) VALUES (NEW.owner_uin, NEW.region, 1)
    ON CONFLICT(owner_uin, region) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER instance_counts_update AFTER UPDATE OF deleted, owner_uin, region ON instances
WHEN (OLD.deleted = 0) != (NEW.deleted = 0) OR OLD.owner_uin != NEW.owner_uin
     OR OLD.region != NEW.region BEGIN
  UPDATE instance_counts SET live = live - 1
    WHERE owner_uin = OLD.owner_uin AND region = OLD.region AND OLD.deleted = 0;
  INSERT INTO instance_counts(owner_uin, region, live) SELECT NEW.owner_uin, NEW.region, 1
    WHERE NEW.deleted = 0 ON CONFLICT(owner_uin, region) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER instance_counts_delete AFTER DELETE ON instances WHEN OLD.deleted = 0 BEGIN
  UPDATE instance_counts SET live = live - 1 WHERE owner_uin = OLD.owner_uin AND region = OLD.region;
END;
)sql"},
      {13, "client tokens: one claim per account, action and token", R"sql(
-- The unique key is what makes a ClientToken hold under concurrency: the claim is written in the
-- transaction that records the request's intent, so a second request with the token cannot
-- commit a second intent. answer: the first answer's JSON, replayed as it was.
CREATE TABLE client_tokens (
  owner_uin    TEXT NOT NULL,
  action       TEXT NOT NULL,
  token        TEXT NOT NULL,
  answer       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (owner_uin, action, token)
);
INSERT INTO client_tokens(owner_uin, action, token, answer, created_at)
  SELECT owner_uin, 'RunInstances', client_token,
         json_object('InstanceIdSet', json_group_array(instance_id)), MIN(created_at)
  FROM (SELECT * FROM instances WHERE client_token IS NOT NULL AND client_token != ''
        ORDER BY rowid)
  GROUP BY owner_uin, client_token;
INSERT INTO client_tokens(owner_uin, action, token, answer, created_at)
  SELECT owner_uin, 'CreateDisks', client_token,
         json_object('DiskIdSet', json_group_array(disk_id)), MIN(created_at)
  FROM (SELECT * FROM disks WHERE client_token IS NOT NULL AND client_token != ''
        ORDER BY rowid)
  GROUP BY owner_uin, client_token;
DROP INDEX instances_by_token;
DROP INDEX disks_by_token;
)sql"},
      {14, "route tables: every VPC's main table, custom tables, routes, subnet associations",
       R"sql(
-- table_id is the kernel routing table of the table's own routes in cvmd's namespace (a range
-- apart from the VPCs' numbers); a subnet's packets consult it before their VPC's table.
CREATE TABLE route_tables (
  route_table_id TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  vpc_id       TEXT NOT NULL,
  name         TEXT NOT NULL,
  is_main      INTEGER NOT NULL DEFAULT 0,
  table_id     INTEGER NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL
);
CREATE INDEX route_tables_by_vpc ON route_tables(vpc_id);
CREATE INDEX route_tables_by_owner ON route_tables(owner_uin, region, created_at);
CREATE UNIQUE INDEX route_tables_one_main ON route_tables(vpc_id) WHERE is_main = 1;
-- route_id is Tencent's RouteId (unique across tables); the LOCAL route of each table is a row
-- too, so it has ids like any other.
CREATE TABLE routes (
  route_id     INTEGER PRIMARY KEY AUTOINCREMENT,
  route_item_id TEXT NOT NULL UNIQUE,
  route_table_id TEXT NOT NULL,
  destination  TEXT NOT NULL,
  gateway_type TEXT NOT NULL,                -- LOCAL | NORMAL_CVM
  gateway_id   TEXT NOT NULL,                -- Local | the next hop's private address
  description  TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  UNIQUE (route_table_id, destination)
);
ALTER TABLE subnets ADD COLUMN route_table_id TEXT NOT NULL DEFAULT '';
CREATE INDEX subnets_by_route_table ON subnets(route_table_id);
INSERT INTO route_tables(route_table_id, owner_uin, region, vpc_id, name, is_main, table_id,
                         created_at)
  SELECT 'rtb-' || lower(hex(randomblob(4))), owner_uin, region, vpc_id, 'default', 1,
         1000000 + table_id, created_at FROM vpcs;
INSERT INTO routes(route_item_id, route_table_id, destination, gateway_type, gateway_id,
                   created_at)
  SELECT 'rti-' || lower(hex(randomblob(4))), r.route_table_id, v.cidr, 'LOCAL', 'Local',
         v.created_at FROM route_tables r JOIN vpcs v ON v.vpc_id = r.vpc_id;
UPDATE subnets SET route_table_id = (SELECT route_table_id FROM route_tables r
                                     WHERE r.vpc_id = subnets.vpc_id AND r.is_main = 1);
)sql"},
      {15, "tag service: every live resource a tag can name", R"sql(
-- The Tag service names a resource by service, prefix and id (qcs::cvm:REGION:uin/OWNER:
-- instance/ins-...). Tags stay in `tags`; this view says which of them name a resource that
-- still exists, and where, so a deleted resource's tags are never listed.
CREATE VIEW taggable_resources(service, prefix, resource_id, owner_uin, region) AS
  SELECT 'cvm', 'instance', instance_id, owner_uin, region FROM instances WHERE deleted = 0
  UNION ALL SELECT 'cvm', 'volume', disk_id, owner_uin, region FROM disks
    WHERE deleted = 0 AND state != 'CREATING'
  UNION ALL SELECT 'cvm', 'snapshot', snapshot_id, owner_uin, region FROM snapshots
    WHERE deleted = 0
  UNION ALL SELECT 'cvm', 'image', image_id, owner_uin, region FROM images
    WHERE deleted = 0 AND owner_uin IS NOT NULL
  UNION ALL SELECT 'cvm', 'keypair', key_id, owner_uin, region FROM key_pairs
  UNION ALL SELECT 'cvm', 'sg', sg_id, owner_uin, region FROM security_groups
  UNION ALL SELECT 'vpc', 'vpc', vpc_id, owner_uin, region FROM vpcs
  UNION ALL SELECT 'vpc', 'subnet', s.subnet_id, s.owner_uin, v.region
    FROM subnets s JOIN vpcs v ON v.vpc_id = s.vpc_id
  UNION ALL SELECT 'vpc', 'rtb', route_table_id, owner_uin, region FROM route_tables;
CREATE INDEX tags_by_owner_resource ON tags(owner_uin, resource_id);
)sql"},
      {16, "custom images: the system disk's snapshot", R"sql(
-- The snapshot an image's system disk is: the one it was made from, or the one CreateImage of
-- an instance records (the image's file, linked under the snapshot's name). '' for none.
ALTER TABLE images ADD COLUMN system_snapshot_id TEXT NOT NULL DEFAULT '';
UPDATE images SET system_snapshot_id = source_id
  WHERE image_source = 'CREATE_IMAGE' AND source_id LIKE 'snap-%';
)sql"},
      {17, "TAT: commands, invocations and one task per instance", R"sql(
CREATE TABLE tat_commands (
  command_id   TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  name         TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  content      TEXT NOT NULL,                -- base64
  command_type TEXT NOT NULL,
  working_directory TEXT NOT NULL DEFAULT '',
  timeout      INTEGER NOT NULL,             -- seconds
  username     TEXT NOT NULL,
  created_by   TEXT NOT NULL,                -- USER | RUN
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX tat_commands_by_owner ON tat_commands(owner_uin, region, created_at);
-- An invocation keeps its own copy of the command: the command may change or go later.
CREATE TABLE tat_invocations (
  invocation_id TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  command_id   TEXT NOT NULL,
  content      TEXT NOT NULL,
  command_type TEXT NOT NULL,
  working_directory TEXT NOT NULL DEFAULT '',
  timeout      INTEGER NOT NULL,
  username     TEXT NOT NULL,
  source       TEXT NOT NULL,                -- USER | RUN
  created_at   INTEGER NOT NULL
);
CREATE INDEX tat_invocations_by_owner ON tat_invocations(owner_uin, region, created_at);
CREATE TABLE tat_tasks (
  task_id      TEXT PRIMARY KEY,
  invocation_id TEXT NOT NULL,
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  instance_id  TEXT NOT NULL,
  command_id   TEXT NOT NULL,
  status       TEXT NOT NULL,                -- PENDING RUNNING CANCELLING, then a final one
  guest_pid    INTEGER NOT NULL DEFAULT 0,
  exit_code    INTEGER NOT NULL DEFAULT 0,
  output       TEXT NOT NULL DEFAULT '',     -- base64 of at most 24 KiB
  dropped      INTEGER NOT NULL DEFAULT 0,
  error_info   TEXT NOT NULL DEFAULT '',
  start_time   INTEGER NOT NULL DEFAULT 0,
  end_time     INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX tat_tasks_by_invocation ON tat_tasks(invocation_id);
CREATE INDEX tat_tasks_by_status ON tat_tasks(status);
)sql",
       R"sql(
CREATE TABLE tat_commands (
  command_id   TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  name         TEXT NOT NULL,
  description  TEXT NOT NULL DEFAULT '',
  content      TEXT NOT NULL,
  command_type TEXT NOT NULL,
  working_directory TEXT NOT NULL DEFAULT '',
  timeout      BIGINT NOT NULL,
  username     TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
CREATE INDEX tat_commands_by_owner ON tat_commands(owner_uin, region, created_at);
CREATE TABLE tat_invocations (
  invocation_id TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  command_id   TEXT NOT NULL,
  content      TEXT NOT NULL,
  command_type TEXT NOT NULL,
  working_directory TEXT NOT NULL DEFAULT '',
  timeout      BIGINT NOT NULL,
  username     TEXT NOT NULL,
  source       TEXT NOT NULL,
  created_at   BIGINT NOT NULL
);
CREATE INDEX tat_invocations_by_owner ON tat_invocations(owner_uin, region, created_at);
CREATE TABLE tat_tasks (
  task_id      TEXT PRIMARY KEY,
  invocation_id TEXT NOT NULL,
  owner_uin    TEXT NOT NULL,
  region       TEXT NOT NULL,
  instance_id  TEXT NOT NULL,
  command_id   TEXT NOT NULL,
  status       TEXT NOT NULL,
  guest_pid    BIGINT NOT NULL DEFAULT 0,
  exit_code    BIGINT NOT NULL DEFAULT 0,
  output       TEXT NOT NULL DEFAULT '',
  dropped      BIGINT NOT NULL DEFAULT 0,
  error_info   TEXT NOT NULL DEFAULT '',
  start_time   BIGINT NOT NULL DEFAULT 0,
  end_time     BIGINT NOT NULL DEFAULT 0,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
CREATE INDEX tat_tasks_by_invocation ON tat_tasks(invocation_id);
CREATE INDEX tat_tasks_by_status ON tat_tasks(status);
)sql"},
      {18, "console tokens: in the store, for whichever process redeems them",
       R"sql(
CREATE TABLE console_tokens (
  token_hash    TEXT PRIMARY KEY,      -- SHA-256 of the token; the token itself is never stored
  instance_id   TEXT NOT NULL,
  vnc_socket    TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
)sql",
       R"sql(
CREATE TABLE console_tokens (
  token_hash    TEXT PRIMARY KEY,
  instance_id   TEXT NOT NULL,
  vnc_socket    TEXT NOT NULL,
  expires_at_ms BIGINT NOT NULL
);
)sql"},
  };
  return kMigrations;
}

}  // namespace cvm::store
