// An exponentially weighted moving average with a variance band: a sample
// outside mean +- sigma * deviation (after a warm-up) is an anomaly.
#pragma once

#include <cmath>
#include <cstdint>

namespace agentgres::sidecar {

class EwmaBand {
public:
	explicit EwmaBand(double alpha = 0.1) : alpha_(alpha) {}

	// Adds a sample; returns true when it lies outside the band as it was
	// before the sample (so one outlier cannot widen its own band).
	bool
	Add(double x, double sigma, std::int64_t warmup)
	{
		bool anomaly = false;
		if (n_ >= warmup) {
			const double deviation = std::sqrt(variance_);
			// A floor on the deviation: a perfectly flat metric would
			// otherwise flag the first tiny change.
			const double floor = 1e-6 + 0.01 * std::fabs(mean_);
			anomaly = std::fabs(x - mean_) > sigma * std::max(deviation, floor);
		}
		if (n_ == 0) {
			mean_ = x;
		} else {
			const double diff = x - mean_;
			const double increment = alpha_ * diff;
			mean_ += increment;
			variance_ = (1 - alpha_) * (variance_ + diff * increment);
		}
		++n_;
		return anomaly;
	}
	double
	mean() const
	{
		return mean_;
	}
	double
	deviation() const
	{
		return std::sqrt(variance_);
	}
	std::int64_t
	samples() const
	{
		return n_;
	}

private:
	double alpha_;
	double mean_ = 0;
	double variance_ = 0;
	std::int64_t n_ = 0;
};

} // namespace agentgres::sidecar
