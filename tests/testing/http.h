// Test support: minimal HTTP/1.0 requests against 127.0.0.1 (Prometheus /metrics endpoints,
// Prometheus' own API, the explorer's pages and login form). Header-only; thread-safe (no state).
#ifndef MONOROUTE_TESTS_TESTING_HTTP_H_
#define MONOROUTE_TESTS_TESTING_HTTP_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace monoroute::testing {

// Sends `request` (a whole HTTP/1.0 request) to 127.0.0.1:<port> and returns everything the server
// answered until it closed the connection ("" when the connection fails).
inline std::string HttpExchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return "";
  }
  (void)!::write(fd, request.data(), request.size());
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return resp;
}

// The body of GET http://127.0.0.1:<port><path> ("" when the connection fails).
inline std::string HttpGet(int port, const std::string& path) {
  const std::string resp =
      HttpExchange(port, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  const size_t pos = resp.find("\r\n\r\n");
  return pos == std::string::npos ? "" : resp.substr(pos + 4);
}

// An HTTP response: status 0 (and nothing else) when none could be read.
struct HttpResponse {
  int status = 0;
  std::string headers;  // the status line and the header lines
  std::string body;
};

// `method path` to 127.0.0.1:<port> with extra `headers` (each ending in "\r\n") and `body` (sent
// with its Content-Length).
inline HttpResponse HttpRequest(int port, const std::string& method, const std::string& path,
                                const std::string& headers = "", const std::string& body = "") {
  const std::string resp =
      HttpExchange(port, method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" + headers +
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  HttpResponse r;
  const size_t end = resp.find("\r\n\r\n");
  if (resp.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(resp.substr(9, 3));
  r.headers = resp.substr(0, end);
  r.body = resp.substr(end + 4);
  return r;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_HTTP_H_
