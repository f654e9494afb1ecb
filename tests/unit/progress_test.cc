#include "serve/progress.h"

#include <gtest/gtest.h>

#include "replay/jobs.h"

namespace ss {
namespace {

namespace pb = shadowstream::v1;

TEST(RenderBar, CountsGiveThePercentageAndTheLineFitsTheTerminal) {
  pb::ProgressUpdate u;
  u.set_state(pb::JOB_STATE_RUNNING);
  u.set_records_done(250);
  u.set_records_total(1000);
  u.set_rate(1234);
  u.set_eta_us(61'000'000);
  u.set_replayed_time(1795168800'000000);
  std::string line = progress::render_bar(u, {}, 100);
  EXPECT_EQ(line.size(), 100u);
  EXPECT_NE(line.find(" 25.0%  250/1000 rec  1234/s  ETA 1:01  at 2026-11-20T10:00:00Z  running"), std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("[", 0), 0u);
  size_t hashes = std::count(line.begin(), line.end(), '#');
  size_t bar = line.find(']') - 1;
  EXPECT_NEAR(static_cast<double>(hashes), static_cast<double>(bar) / 4, 1);
  EXPECT_LE(progress::render_bar(u, {}, 40).size(), 40u);
}

TEST(RenderBar, WithoutATotalTheWindowGivesThePercentage) {
  pb::ReplayRequest req;
  req.set_start_time(1'000'000);
  req.set_end_time(5'000'000);
  pb::ProgressUpdate u;
  u.set_state(pb::JOB_STATE_PAUSED);
  u.set_replayed_time(2'000'000);
  u.set_eta_us(-1);
  std::string line = progress::render_bar(u, req, 120);
  EXPECT_NE(line.find(" 25.0%"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA ?"), std::string::npos) << line;
  EXPECT_NE(line.find("paused"), std::string::npos) << line;
  u.set_replayed_time(0);
  EXPECT_NE(progress::render_bar(u, {}, 120).find("   ?%"), std::string::npos);
}

// What jobs::validate says of `r`: "" when it passes, else its Error's one line (always exit 64).
std::string why(const pb::ReplayRequest& r) {
  try {
    jobs::validate(r);
    return "";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    return e.what();
  }
}

TEST(JobRequests, ValidationNamesTheProblem) {
  pb::ReplayRequest r;
  EXPECT_EQ(why(r), "");
  r.set_source("s3:bucket");
  EXPECT_NE(why(r).find("kafka:<topic> or file:<path>"), std::string::npos);
  r.set_source("kafka:");
  EXPECT_NE(why(r).find("needs a topic"), std::string::npos);
  r.set_source("kafka:shadowstream.archive");
  r.set_speed_factor(-1);
  EXPECT_NE(why(r).find("speed_factor"), std::string::npos);
  r.set_speed_factor(10);
  r.set_target("postgres://u:pw@host/db");
  EXPECT_NE(why(r).find("must not carry a password"), std::string::npos);
  r.set_target("postgres://u@host/db");
  EXPECT_EQ(why(r), "");
  r.set_target("host=x port");
  EXPECT_EQ(why(r).rfind("target: ", 0), 0u);
  r.set_target("");
  r.set_on_error_name("ignore");  // the text older clients send
  EXPECT_NE(why(r).find("on_error"), std::string::npos);
  r.set_on_error_name("log");
  EXPECT_EQ(why(r), "");
  r.set_on_error(shadowstream::v1::ON_ERROR_SKIP);  // the enum and the text disagree
  EXPECT_NE(why(r).find("on_error"), std::string::npos);
  r.set_on_error(static_cast<shadowstream::v1::OnError>(42));
  EXPECT_NE(why(r).find("on_error"), std::string::npos);
  r.set_on_error(shadowstream::v1::ON_ERROR_LOG);
  EXPECT_EQ(why(r), "");
  r.set_from_lsn(10);
  r.set_to_lsn(5);
  EXPECT_NE(why(r).find("from_lsn"), std::string::npos);
}

}  // namespace
}  // namespace ss
