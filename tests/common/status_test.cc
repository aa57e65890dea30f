#include "common/status.h"

#include <gtest/gtest.h>

namespace psrec {
namespace {

Result<int> ParsePositive(int x) {
  if (x <= 0) return Status::InvalidArgument("x must be positive, got " + std::to_string(x));
  return x;
}

Status Chain(int x, int* out) {
  ASSIGN_OR_RETURN(*out, ParsePositive(x));
  return Status::OK();
}

TEST(StatusTest, OkIsCheapAndPrintable) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ContextPrefixesMessage) {
  Status s = Status::NotFound("no such file").WithContext("data.train_path");
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "data.train_path: no such file");
}

TEST(StatusTest, AssignOrReturnPropagates) {
  int v = 0;
  EXPECT_TRUE(Chain(3, &v).ok());
  EXPECT_EQ(v, 3);
  Status s = Chain(-1, &v);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "x must be positive, got -1");
}

}  // namespace
}  // namespace psrec
