// Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/): a few valid inputs of
// each kind, made with psrec's own encoders so that they follow the formats as they are.
// Run by hand after a format changes: build-fuzz/fuzz/fuzz_make_seeds fuzz/corpus
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_format.h"
#include "checkpoint/manifest_file.h"
#include "wire/frame_codec.h"

namespace {

using namespace psrec;
namespace fs = std::filesystem;

fs::path root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Bytes(const ByteBuffer& buffer, size_t from = 0) {
  return std::string(reinterpret_cast<const char*>(buffer.data()) + from, buffer.size() - from);
}

// A body seed for the FuzzBody targets: the offset byte, then the frame's body.
std::string Body(uint8_t shift, const ByteBuffer& frame) {
  return std::string(1, static_cast<char>(shift)) + Bytes(frame, wire::kFrameHeaderBytes);
}

std::string Serialized(const google::protobuf::MessageLite& msg) {
  return msg.SerializeAsString();
}

void WireSeeds() {
  const std::vector<uint64_t> keys = {1, 7, 42, (uint64_t{1} << 63) | 99};
  ByteBuffer pull, pull_state, push_grad, push_delta, reply, reply_missing, stream;
  wire::AppendPullRequest(5, 1, 3, keys, &pull);
  wire::AppendPullRequest(6, 2, 4, keys, &pull_state, /*state_floats=*/2, /*read_only=*/true);
  Write("fuzz_pull_request", "plain", Body(0, pull));
  Write("fuzz_pull_request", "state_read_only_unaligned", Body(3, pull_state));

  const std::vector<float> values(keys.size() * 3, 0.25f);
  uint8_t* at = wire::AppendPushRequest(wire::PushHeader::Gradients(7, 1, 0.01f), keys,
                                        values.size(), &push_grad);
  std::memcpy(at, values.data(), values.size() * sizeof(float));
  const std::vector<float> deltas(keys.size() * 4, -0.5f);
  at = wire::AppendPushRequest(wire::PushHeader::Deltas(8, 2, 1), keys, deltas.size(),
                               &push_delta);
  std::memcpy(at, deltas.data(), deltas.size() * sizeof(float));
  Write("fuzz_push_request", "gradients", Body(0, push_grad));
  Write("fuzz_push_request", "deltas_unaligned", Body(5, push_delta));

  float* rows = wire::AppendPullReply(5, 3, 120, 8, &reply);
  for (int i = 0; i < 8; ++i) rows[i] = 0.125f * static_cast<float>(i);
  const std::vector<uint32_t> missing = {1, 3};
  rows = wire::AppendPullReply(6, 4, 0, 4, &reply_missing, missing);
  for (int i = 0; i < 4; ++i) rows[i] = 1.0f;
  Write("fuzz_pull_reply", "values", Body(0, reply));
  Write("fuzz_pull_reply", "missing_unaligned", Body(1, reply_missing));

  // Control messages: the selector byte of fuzz_control, then the body.
  wire::HandshakeChallenge challenge;
  challenge.set_protocol_version(wire::kProtocolVersion);
  challenge.set_server_nonce(std::string(16, 'n'));
  wire::Handshake hello;
  hello.set_protocol_version(wire::kProtocolVersion);
  hello.set_job_id("psrec");
  hello.set_worker_id(1);
  hello.set_num_workers(2);
  hello.set_client_nonce(std::string(16, 'c'));
  hello.set_proof(std::string(32, 'p'));
  wire::HandshakeReply hello_reply;
  hello_reply.set_protocol_version(wire::kProtocolVersion);
  hello_reply.set_server_id(0);
  hello_reply.set_num_servers(2);
  hello_reply.set_local_socket("psrec-local");
  hello_reply.set_proof(std::string(32, 'q'));
  wire::Error error;
  error.set_message("table 9 is unknown");
  Write("fuzz_control", "challenge", std::string(1, 0) + Serialized(challenge));
  Write("fuzz_control", "handshake", std::string(1, 1) + Serialized(hello));
  Write("fuzz_control", "handshake_reply", std::string(1, 2) + Serialized(hello_reply));
  Write("fuzz_control", "error", std::string(1, 6) + Serialized(error));

  // A connection's stream: handshake, pull, push, clock, finish.
  wire::AppendHandshake(hello, &stream);
  wire::AppendPullRequest(5, 1, 3, keys, &stream);
  at = wire::AppendPushRequest(wire::PushHeader::Gradients(7, 1, 0.01f), keys, values.size(),
                               &stream);
  std::memcpy(at, values.data(), values.size() * sizeof(float));
  wire::AppendClock(9, 1, 4, &stream);
  wire::AppendFinish(10, 1, &stream);
  Write("fuzz_frame_stream", "worker_session", std::string(1, 0) + Bytes(stream));
  ByteBuffer server;
  wire::AppendHandshakeReply(hello_reply, &server);
  Write("fuzz_frame_stream", "server_reply", std::string(1, 0) + Bytes(server) + Bytes(reply));
}

void TextSeeds() {
  // fuzz_line_parser: the selector byte (format % 6, then file name / delimiter bits).
  Write("fuzz_line_parser", "tsv", std::string(1, 1) + "1\t10\t4\t1700000000\n2\t11\t3.5\t1\n");
  Write("fuzz_line_parser", "dat", std::string(1, 2 + 8) + "1::10::5::1700000123\n2::3::1::9\n");
  Write("fuzz_line_parser", "csv",
        std::string(1, 3 + 16) + "userId,movieId,rating,timestamp\n7,3,2.5,1700000456\n");
  Write("fuzz_line_parser", "libmf", std::string(1, 4 + 24) + "0 0 4.0\n3  17\t2\n");
  Write("fuzz_line_parser", "auto_tsv", std::string(1, 0) + "5\t8\t3\t1700000789\n");
  Write("fuzz_line_parser", "delimited_header",
        std::string(1, static_cast<char>(5 + 32)) + "u,i,r\nalice,book,4\nbob,film,2\n");

  Write("fuzz_job_config", "small",
        "job_id: \"fuzz\"\n"
        "data { synthetic { num_users: 100 num_items: 50 rank: 4 ratings_per_user: 5 } }\n"
        "model { dim: 8 }\n"
        "tables { name: \"user\" placement: LOCAL optimizer { kind: SGD learning_rate: 0.01 } }\n"
        "tables { name: \"item\" optimizer { kind: ADAGRAD learning_rate: 0.05 } }\n"
        "training { epochs: 2 batch_size: 64 consistency: SSP }\n");
  Write("fuzz_job_config", "text_data",
        "data { train_path: \"ratings.txt\" format: DELIMITED\n"
        "       delimited { delimiter: \";\" header: true timestamp_column: 3 }\n"
        "       split { kind: RANDOM } min_rating: 1 max_rating: 5 }\n"
        "cluster { token: \"secret\" }\n");
}

void ManifestSeeds() {
  checkpoint::Manifest m;
  m.set_format_version(checkpoint::kCheckpointFormatVersion);
  m.set_step(100);
  m.set_epoch(1);
  m.set_shards(1);
  auto* identity = m.mutable_identity();
  identity->set_job_id("psrec");
  identity->set_model_type("BIASED_MF");
  auto* table = m.add_tables();
  table->set_name("item");
  table->set_id(1);
  table->set_dim(9);
  table->set_rows(0);
  auto* file = m.add_files();
  file->set_name("item-0.rows");
  file->set_table_id(1);
  file->set_rows(0);
  (*m.mutable_model_scalars())["global_mean"] = 3.5;
  auto framed = checkpoint::EncodeManifestFile(m);
  if (!framed.ok()) return;
  Write("fuzz_manifest", "file", std::string(1, 0) + *framed);
  Write("fuzz_manifest", "body", std::string(1, 1) + m.SerializeAsString());
  m.clear_files();
  Write("fuzz_manifest", "body_no_files", std::string(1, 3) + m.SerializeAsString());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  WireSeeds();
  TextSeeds();
  ManifestSeeds();
  return 0;
}
