// psrec privacy: the (epsilon, delta) of DP-SGD / DP-FedAvg from its sampling rate, noise
// multiplier and number of steps (rounds), or the noise multiplier for a target epsilon, by
// the RDP accountant of train/privacy/rdp_accountant.h.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "common/flags.h"
#include "common/json.h"
#include "train/privacy/noise_calibration.h"
#include "train/privacy/rdp_accountant.h"

namespace psrec::cli {

namespace {

namespace privacy = psrec::train::privacy;

// A flag value as the user would write it (1e-05, 0.5), not std::to_string's 0.000010.
std::string Num(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

struct PrivacyArgs {
  std::optional<double> q;
  int64_t population = 0;
  int64_t batch = 0;
  std::optional<double> z;
  int64_t steps = 0;
  std::optional<double> epochs;
  double delta = 1e-5;
  std::optional<double> target_epsilon;
  std::string conversion = "improved";
  bool json = false;
};

// Resolves q and steps from the flags given; errors name the flag.
Status ResolveSampling(const FlagSet& flags, PrivacyArgs& a, double* q, int64_t* steps) {
  bool by_population = flags.IsSet("population") || flags.IsSet("batch");
  if (by_population) {
    if (a.q) return Status::InvalidArgument("--q: give either --q or --population and --batch");
    if (a.population < 1) {
      return Status::InvalidArgument("--population: expected an integer >= 1, got " +
                                     std::to_string(a.population));
    }
    if (a.batch < 1 || a.batch > a.population) {
      return Status::InvalidArgument("--batch: expected an integer in [1, --population], got " +
                                     std::to_string(a.batch));
    }
    *q = static_cast<double>(a.batch) / static_cast<double>(a.population);
  } else if (a.q) {
    *q = *a.q;
  } else {
    return Status::InvalidArgument("--q: the sampling rate is required (or --population and "
                                   "--batch)");
  }
  if (!(*q > 0.0 && *q <= 1.0)) {
    return Status::InvalidArgument("--q: the sampling rate must lie in (0, 1], got " +
                                   Num(*q));
  }
  if (flags.IsSet("steps") == a.epochs.has_value()) {
    return Status::InvalidArgument("--steps: give exactly one of --steps and --epochs");
  }
  if (a.epochs) {
    if (by_population) {
      Result<int64_t> s = privacy::StepsForEpochs(*a.epochs, a.population, a.batch);
      if (!s.ok()) return s.status().WithContext("--epochs");
      *steps = *s;
    } else {
      // epochs / q, guarded against 6000.000000001 from a q that is not a binary fraction.
      double exact = *a.epochs / *q;
      *steps = static_cast<int64_t>(std::ceil(exact * (1.0 - 1e-12)));
    }
  } else {
    if (a.steps < 1) {
      return Status::InvalidArgument("--steps: expected an integer >= 1, got " +
                                     std::to_string(a.steps));
    }
    *steps = a.steps;
  }
  return Status::OK();
}

}  // namespace

int RunPrivacyCommand(int argc, char** argv) {
  PrivacyArgs a;
  FlagSet flags("psrec privacy",
                "Privacy of the Poisson-subsampled Gaussian mechanism (DP-SGD, DP-FedAvg) by "
                "the RDP accountant: epsilon for a noise multiplier, or the noise multiplier "
                "for a target epsilon.");
  flags.AddOptionalDouble("q", &a.q, "sampling rate per step (round), in (0, 1]",
                          -std::numeric_limits<double>::infinity());
  flags.AddInt("population", &a.population, "records (clients) in the population; with --batch "
                                            "instead of --q");
  flags.AddInt("batch", &a.batch, "expected records (clients) per step: q = batch / population");
  flags.AddOptionalDouble("z", &a.z, "noise multiplier (noise std / clip norm), >= 0",
                          -std::numeric_limits<double>::infinity());
  flags.AddInt("steps", &a.steps, "steps (rounds)");
  flags.AddOptionalDouble("epochs", &a.epochs, "epochs instead of --steps: steps = ceil(epochs/q)",
                          -std::numeric_limits<double>::infinity());
  flags.AddDouble("delta", &a.delta, "delta, in (0, 1)");
  flags.AddOptionalDouble("target-epsilon", &a.target_epsilon,
                          "find the noise multiplier z for this epsilon (instead of --z)",
                          -std::numeric_limits<double>::infinity());
  flags.AddString("conversion", &a.conversion,
                  "RDP to (epsilon, delta): improved (Balle et al. 2020, TF Privacy) or classic "
                  "(Mironov 2017)");
  flags.AddBool("json", &a.json, "print JSON");
  Status s = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  double q = 0;
  int64_t steps = 0;
  if (s.ok()) s = ResolveSampling(flags, a, &q, &steps);
  if (s.ok() && !(a.delta > 0.0 && a.delta < 1.0)) {
    s = Status::InvalidArgument("--delta: must lie in (0, 1), got " + Num(a.delta));
  }
  if (s.ok() && a.z.has_value() == a.target_epsilon.has_value()) {
    s = Status::InvalidArgument("--z: give exactly one of --z and --target-epsilon");
  }
  if (s.ok() && a.z && !(*a.z >= 0.0 && std::isfinite(*a.z))) {
    s = Status::InvalidArgument("--z: the noise multiplier must be a finite number >= 0, got " +
                                Num(*a.z));
  }
  if (s.ok() && a.target_epsilon && !(*a.target_epsilon > 0.0)) {
    s = Status::InvalidArgument("--target-epsilon: must be > 0, got " +
                                Num(*a.target_epsilon));
  }
  privacy::EpsilonConversion conversion = privacy::EpsilonConversion::kImproved;
  if (s.ok()) {
    if (a.conversion == "classic") {
      conversion = privacy::EpsilonConversion::kClassic;
    } else if (a.conversion != "improved") {
      s = Status::InvalidArgument("--conversion: expected improved or classic, got '" +
                                  a.conversion + "'");
    }
  }
  if (!s.ok()) {
    std::cerr << "psrec privacy: " << s.message() << "\n";
    return 2;
  }

  double z = 0;
  privacy::PrivacySpent spent;
  if (a.target_epsilon) {
    Result<privacy::NoiseCalibration> cal =
        privacy::NoiseMultiplierForEpsilon(*a.target_epsilon, q, steps, a.delta, conversion);
    if (!cal.ok()) {
      std::cerr << "psrec privacy: --target-epsilon: " << cal.status().message() << "\n";
      return 1;
    }
    z = cal->noise_multiplier;
    spent = cal->spent;
  } else {
    z = *a.z;
    Result<privacy::PrivacySpent> r = privacy::ComputeEpsilon(q, z, steps, a.delta, conversion);
    if (!r.ok()) {
      std::cerr << "psrec privacy: " << r.status().message() << "\n";
      return 1;
    }
    spent = *r;
  }
  if (a.json) {
    Json out;
    out["q"] = q;
    out["noise_multiplier"] = z;
    out["steps"] = steps;
    out["delta"] = a.delta;
    out["epsilon"] = std::isfinite(spent.epsilon) ? Json(spent.epsilon) : Json(nullptr);
    out["optimal_order"] = spent.optimal_order;
    out["conversion"] = a.conversion;
    std::cout << JsonText(out) << "\n";
  } else {
    std::printf("q %.10g  z %.10g  steps %lld  delta %.3g\n", q, z,
                static_cast<long long>(steps), a.delta);
    // Ten decimals for the values worth comparing to published ones; an astronomically large
    // epsilon (almost no noise) in scientific notation.
    std::printf(spent.epsilon < 1e6 ? "epsilon %.10f at RDP order %g (%s conversion)\n"
                                    : "epsilon %.6g at RDP order %g (%s conversion)\n",
                spent.epsilon, spent.optimal_order, a.conversion.c_str());
  }
  return 0;
}

}  // namespace psrec::cli
