// Counters the kernel keeps per TCP socket. A file of its own: <linux/tcp.h>, which has them, cannot be included
// beside glibc's <netinet/tcp.h> (httplib's), which lacks them.
#pragma once

#include <cstdint>

namespace ss::tcp_stats {

// Bytes the socket `fd` has received so far (TLS records included); 0 when the kernel does not say.
uint64_t bytes_received(int fd);

}  // namespace ss::tcp_stats
