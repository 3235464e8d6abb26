// TLS credentials from PEM files, checked with OpenSSL before gRPC sees them.
#include "common/service/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Largest PEM file read (a CA bundle of a few hundred certificates fits easily).
constexpr size_t kMaxPemBytes = 4 << 20;

// Refuses to prompt for a pass phrase: an encrypted key is an error, not a hang.
int NoPassword(char*, int, int, void*) { return 0; }

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// "<flag> <path>: " for messages.
std::string Where(const std::string& flag, const std::string& path) {
  return absl::StrCat(flag, " ", path, ": ");
}

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(flag, path), "cannot read: ", text.status().message()));
  }
  if (text->size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(flag, path), "larger than ", kMaxPemBytes, " bytes"));
  }
  return std::move(*text);
}

// Reads the PEM file `path` and parses its first object with `parse` (a PEM_read_bio_*
// function, never prompting for a pass phrase); INVALID_ARGUMENT naming the flag and file,
// followed by `missing`, when it holds none. Returns the text and the object.
template <class Ptr, class Parse>
absl::StatusOr<std::pair<std::string, Ptr>> ReadPemObject(const std::string& flag,
                                                          const std::string& path, Parse parse,
                                                          const char* missing) {
  ASSIGN_OR_RETURN(std::string pem, ReadPem(flag, path));
  BioPtr bio = MemBio(pem);
  Ptr first(parse(bio.get(), nullptr, NoPassword, nullptr));
  ERR_clear_error();
  if (first == nullptr) return absl::InvalidArgumentError(absl::StrCat(Where(flag, path), missing));
  return std::make_pair(std::move(pem), std::move(first));
}

// Reads a file that must hold at least one PEM certificate; returns the text and the first one.
absl::StatusOr<std::pair<std::string, X509Ptr>> ReadCertificates(const std::string& flag,
                                                                 const std::string& path) {
  return ReadPemObject<X509Ptr>(
      flag, path, PEM_read_bio_X509,
      "no PEM certificate (expected a -----BEGIN CERTIFICATE----- block)");
}

// Reads an unencrypted PEM private key.
absl::StatusOr<std::pair<std::string, PkeyPtr>> ReadKey(const std::string& flag,
                                                        const std::string& path) {
  return ReadPemObject<PkeyPtr>(
      flag, path, PEM_read_bio_PrivateKey,
      "no unencrypted PEM private key (expected a -----BEGIN PRIVATE KEY----- block; decrypt it "
      "with `openssl pkey -in KEY -out KEY.plain`)");
}

// Reads and checks a certificate/key pair; both paths must be set.
absl::StatusOr<grpc::SslServerCredentialsOptions::PemKeyCertPair> ReadPair(
    const std::string& prefix, const std::string& cert_file, const std::string& key_file) {
  const std::string cert_flag = prefix + "-cert", key_flag = prefix + "-key";
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_flag, " and ", key_flag, " go together (",
                                                   cert_file.empty() ? cert_flag : key_flag,
                                                   " is missing)"));
  }
  ASSIGN_OR_RETURN(auto cert, ReadCertificates(cert_flag, cert_file));
  ASSIGN_OR_RETURN(auto key, ReadKey(key_flag, key_file));
  if (X509_check_private_key(cert.second.get(), key.second.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(Where(key_flag, key_file),
                                                   "does not match the certificate in ", cert_flag,
                                                   " ", cert_file));
  }
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.private_key = std::move(key.first);
  pair.cert_chain = std::move(cert.first);
  return pair;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFromOptions(
    const ServerTlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  ASSIGN_OR_RETURN(auto pair, ReadPair(options.flag_prefix, options.cert_file, options.key_file));
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!options.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(auto ca,
                     ReadCertificates(options.flag_prefix + "-client-ca", options.client_ca_file));
    ssl.pem_root_certs = std::move(ca.first);
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFromOptions(
    const ChannelTlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    ASSIGN_OR_RETURN(auto ca, ReadCertificates(options.flag_prefix + "-ca", options.ca_file));
    ssl.pem_root_certs = std::move(ca.first);
  }
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    ASSIGN_OR_RETURN(auto pair, ReadPair(options.flag_prefix, options.cert_file, options.key_file));
    ssl.pem_cert_chain = std::move(pair.cert_chain);
    ssl.pem_private_key = std::move(pair.private_key);
  }
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateServiceChannel(const std::string& address,
                                                                    const ChannelTlsOptions& tls,
                                                                    grpc::ChannelArguments args) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds,
                   ChannelCredentialsFromOptions(tls));
  if (tls.enabled() && !tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(address, creds, args);
}

}  // namespace monoroute
