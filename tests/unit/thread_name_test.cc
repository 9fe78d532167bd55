#define BOOST_TEST_DYN_LINK
#include "base/thread_name.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <string>
#include <thread>

using namespace webhookd;

namespace {

// The name the kernel keeps for a new thread named `name`, read back where
// top and ps read it.
std::string name_seen(const char* name) {
  std::string seen;
  std::thread([&] {
    name_this_thread(name);
    std::ifstream comm("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
    std::getline(comm, seen);
  }).join();
  return seen;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(thread_name)

BOOST_AUTO_TEST_CASE(names_as_the_kernel_keeps_them) {
  const struct {
    const char* name;
    const char* seen;
  } cases[] = {
      {"worker", "worker"},
      {"request-log", "request-log"},
      {"fifteen-bytes-x", "fifteen-bytes-x"},
      // pthread_setname_np refuses 16 bytes and more (ERANGE): cut, not lost.
      {"sixteen-bytes-xy", "sixteen-bytes-x"},
      {"a-name-far-longer-than-the-kernel-keeps", "a-name-far-long"},
  };
  for (const auto& c : cases) BOOST_TEST(name_seen(c.name) == c.seen, c.name);
}

BOOST_AUTO_TEST_SUITE_END()
