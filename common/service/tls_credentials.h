// TLS for every monoroute server and client: credentials built from PEM files named by flags
// (--tls-cert/--tls-key/--tls-client-ca on servers; --<peer>-tls-ca/-cert/-key on outgoing
// channels), with the files checked up front (readable, PEM, key matches certificate) so a
// mistake is a startup error naming the flag and the file, not a failed handshake later.
#ifndef MONOROUTE_COMMON_SERVICE_TLS_CREDENTIALS_H_
#define MONOROUTE_COMMON_SERVICE_TLS_CREDENTIALS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace monoroute {

// TLS of a listening server. All fields empty: plaintext.
struct ServerTlsOptions {
  // PEM certificate chain of the server (leaf first). Required with key_file.
  std::string cert_file;
  // PEM private key (unencrypted) of cert_file. Required with cert_file.
  std::string key_file;
  // PEM CA bundle; when set, every client must present a certificate that chains to it
  // (mutual TLS); connections without one fail the handshake. Needs cert_file/key_file.
  std::string client_ca_file;
  // Prefix of the flags in error messages ("--tls" names --tls-cert, --tls-key, ...).
  std::string flag_prefix = "--tls";

  // True when any file is set (the server then serves TLS only).
  bool enabled() const {
    return !cert_file.empty() || !key_file.empty() || !client_ca_file.empty();
  }
};

// TLS of an outgoing channel (a client of a monoroute service).
struct ChannelTlsOptions {
  // PEM CA bundle the server's certificate must chain to; empty with TLS on: the system roots.
  std::string ca_file;
  // PEM client certificate chain for mutual TLS (with key_file; both or neither).
  std::string cert_file;
  // PEM private key (unencrypted) of cert_file.
  std::string key_file;
  // Name the server's certificate must carry instead of the address's host (e.g. dialling
  // 10.0.0.5:7101 whose certificate names "recorder"); empty: the host of the address.
  std::string server_name;
  // TLS even when no file is set (server verified against the system roots).
  bool use_tls = false;
  // Prefix of the flags in error messages ("--recorder-tls" names --recorder-tls-ca, ...).
  std::string flag_prefix = "--tls";

  // True when the channel uses TLS: use_tls or any file set.
  bool enabled() const {
    return use_tls || !ca_file.empty() || !cert_file.empty() || !key_file.empty();
  }
};

// Server credentials: InsecureServerCredentials when `options` is not enabled, else TLS with the
// checked files (client certificates required and verified when client_ca_file is set).
// INVALID_ARGUMENT naming the flag and file for an unreadable file, a file without the expected
// PEM block, an encrypted key, a key that does not match the certificate, or a missing half.
// Thread-safe.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFromOptions(
    const ServerTlsOptions& options);

// Channel credentials: InsecureChannelCredentials when `options` is not enabled, else TLS with
// the checked files (errors as for ServerCredentialsFromOptions). Thread-safe.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFromOptions(
    const ChannelTlsOptions& options);

// A channel to `address` with ChannelCredentialsFromOptions(tls) and `args` (plus the TLS
// server-name override when tls.server_name is set). The one way monoroute clients connect.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateServiceChannel(
    const std::string& address, const ChannelTlsOptions& tls,
    grpc::ChannelArguments args = grpc::ChannelArguments());

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_TLS_CREDENTIALS_H_
