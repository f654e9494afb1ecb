// ss-archive read --group: a member of a Kafka consumer group over the archive, committing offsets only for what the
// downstream acknowledged (see archive.h).
#pragma once

#include "kafka/archive.h"

namespace ss::archive::detail {

int group_read(const ReadConfig& cfg, int out_fd);

}  // namespace ss::archive::detail
