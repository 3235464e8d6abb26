// The TLS settings of every monoroute server and client, described once: the option structs and
// the one way their flags are declared (--tls-* on a server, --<peer>-tls-* or --tls-* on a
// channel, with MONOROUTE_TLS_* environment defaults for the CLI) and passed on to a child
// process. gRPC-free (credentials are built from these by common/service/tls_credentials.h), so
// engine-only builds of the CLI use the same type. CLI11 is header-only.
#ifndef MONOROUTE_COMMON_BASE_TLS_OPTIONS_H_
#define MONOROUTE_COMMON_BASE_TLS_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

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

// The field list of ChannelTlsOptions (v(name, field) per field; see
// common/engine/progress_fields.h for the visitors): how a trainer hands a channel's TLS to its
// workers.
template <typename T, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<T>, ChannelTlsOptions>> VisitFields(T& t,
                                                                                        V& v) {
  v("ca_file", t.ca_file);
  v("cert_file", t.cert_file);
  v("key_file", t.key_file);
  v("server_name", t.server_name);
  v("use_tls", t.use_tls);
  v("flag_prefix", t.flag_prefix);
}

// Adds --<peer>-tls-ca, --<peer>-tls-cert, --<peer>-tls-key and --<peer>-tls-server-name for a
// channel to `peer` (peer "" adds --tls-ca, ...), bound to `tls`, and sets its flag_prefix. With
// `env_prefix` (e.g. "MONOROUTE_TLS"), each value defaults to <env_prefix>_CA / _CERT / _KEY /
// _SERVER_NAME when that variable is set and not empty.
inline void AddChannelTlsFlags(CLI::App* app, const std::string& peer, ChannelTlsOptions* tls,
                               const char* env_prefix = nullptr) {
  const std::string who = peer.empty() ? "service" : peer;
  tls->flag_prefix = peer.empty() ? "--tls" : "--" + peer + "-tls";
  auto add = [&](const char* suffix, std::string* value, const std::string& help) {
    std::string text = help;
    if (env_prefix != nullptr) {
      std::string var = std::string(env_prefix) + "_" + suffix;
      for (char& c : var) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
      if (const char* v = std::getenv(var.c_str()); v != nullptr && *v != '\0') *value = v;
      text += " (env " + var + ")";
    }
    app->add_option(tls->flag_prefix + "-" + suffix, *value, text);
  };
  add("ca", &tls->ca_file,
      "PEM CA bundle that signs the " + who + "'s certificate: connect with TLS");
  add("cert", &tls->cert_file, "PEM client certificate for the " + who + " (mutual TLS)");
  add("key", &tls->key_file, "PEM private key of " + tls->flag_prefix + "-cert");
  add("server-name", &tls->server_name,
      "name expected in the " + who + "'s certificate (default: the host of the address)");
}

// The flags that reproduce `tls` on a child's command line (the non-empty files and name, under
// its flag_prefix).
inline std::vector<std::string> ChannelTlsArgs(const ChannelTlsOptions& tls) {
  std::vector<std::string> args;
  auto add = [&](const char* suffix, const std::string& v) {
    if (!v.empty()) args.insert(args.end(), {tls.flag_prefix + "-" + suffix, v});
  };
  add("ca", tls.ca_file);
  add("cert", tls.cert_file);
  add("key", tls.key_file);
  add("server-name", tls.server_name);
  return args;
}

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_TLS_OPTIONS_H_
