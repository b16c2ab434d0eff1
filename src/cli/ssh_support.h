// The CLI's local SSH plumbing: the user's key (created on first use), the key pair name for
// this machine, the known-hosts file OpenCVM instances go into, and a probe that tells when a
// guest's SSH server really answers.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace cvm::cli {

// $HOME, or the password database's home directory.
std::string HomeDir();

// ~/.ssh/id_ed25519: the key `cvm run` puts on instances and `cvm ssh` logs in with.
std::string DefaultKeyPath();

// Returns the public key line of `key_path`, first generating the key with ssh-keygen (ed25519,
// no passphrase) when it does not exist.
Result<std::string> EnsureLocalSshKey(const std::string& key_path);

// "type base64" of an OpenSSH public key line, without its comment, so two copies of one key
// compare equal whatever their comments.
std::string PublicKeyBody(const std::string& line);

// "cvm_<host name>" with the host name reduced to key pair name characters (letters, digits,
// underscores) and the whole at most 25 characters, Tencent's limit.
std::string KeyPairNameForHost();

// ~/.config/opencvm/known_hosts (its directory is created): instance host keys change with every
// new instance on a reused loopback port, so they are kept apart from the user's own file.
std::string KnownHostsPath();

// True when a TCP connection to host:port (a numeric IPv4 address) receives an SSH banner
// ("SSH-") within `timeout`. A port forwarder accepts connections before the guest listens, so
// only the banner proves that the guest's SSH server answers.
bool SshAnswers(const std::string& host, int port, std::chrono::milliseconds timeout);

}  // namespace cvm::cli
