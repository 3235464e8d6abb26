// Test support shared by every suite: free TCP ports on 127.0.0.1 for programs that cannot bind
// port 0 themselves (e.g. a Prometheus config, a child restarted on the same address; monoroute's
// own services take --listen 127.0.0.1:0 and print the port). Header-only, no gRPC. Thread-safe.
#ifndef MONOROUTE_TESTS_TESTING_PORTS_H_
#define MONOROUTE_TESTS_TESTING_PORTS_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::testing {

// `n` distinct free TCP ports on 127.0.0.1 (all bound to port 0 at once, then released: another
// process may take one before it is used; prefer port 0 where the program supports it).
inline absl::StatusOr<std::vector<int>> PickFreePorts(int n) {
  std::vector<int> fds, ports;
  bool ok = true;
  for (int i = 0; i < n && ok; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
         ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    if (ok) ports.push_back(ntohs(a.sin_port));
    if (fd >= 0) fds.push_back(fd);
  }
  for (int fd : fds) ::close(fd);
  if (!ok) return absl::InternalError("cannot bind a free port on 127.0.0.1");
  return ports;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_PORTS_H_
