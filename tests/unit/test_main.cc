// The Boost.Test module of the unit tests; each other file here tests one
// source file of src/, table-driven.
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE webhookd_unit
#include <boost/test/unit_test.hpp>
