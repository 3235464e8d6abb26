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
#include "common/base/tls_options.h"

namespace monoroute {

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
