#include "cli/job_secret.h"

#include <fstream>
#include <sstream>

#include "wire/handshake_auth.h"

namespace psrec::cli {

Result<std::string> ConfiguredJobSecret(const config::ClusterConfig& cluster) {
  if (!cluster.token().empty() && !cluster.token_file().empty()) {
    return Status::InvalidArgument("set cluster.token or cluster.token_file, not both");
  }
  if (cluster.token_file().empty()) return cluster.token();
  const std::string& path = cluster.token_file();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cluster.token_file " + path + ": cannot open");
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return Status::IoError("cluster.token_file " + path + ": read failed");
  std::string secret = contents.str();
  // `echo secret > file` leaves a newline that is not part of the secret.
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Status::InvalidArgument("cluster.token_file " + path + " is empty");
  return secret;
}

Result<std::string> ConfiguredOrDrawnJobSecret(const config::ClusterConfig& cluster) {
  ASSIGN_OR_RETURN(std::string secret, ConfiguredJobSecret(cluster));
  if (!secret.empty()) return secret;
  return wire::DrawJobSecret();
}

}  // namespace psrec::cli
