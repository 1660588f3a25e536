// Evaluation split across ranks (distributed_evaluation.hpp).
#include "cnnkit/model/distributed_evaluation.hpp"

#include <cstdint>
#include <numeric>
#include <vector>

#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

// Every rank's `mine` (counts[q] values from rank q) in rank order.
template <typename V>
std::vector<V> gather(Communicator& communicator, const std::vector<V>& mine,
                      const std::vector<std::size_t>& counts) {
  std::vector<std::size_t> bytes(counts.size());
  for (std::size_t q = 0; q < counts.size(); ++q) bytes[q] = counts[q] * sizeof(V);
  std::vector<V> all(std::accumulate(counts.begin(), counts.end(), std::size_t{0}));
  communicator.all_gather(reinterpret_cast<const std::byte*>(mine.data()),
                          reinterpret_cast<std::byte*>(all.data()), bytes);
  return all;
}

}  // namespace

template <typename T>
Evaluation evaluate(Model<T>& model, const Dataset<T>& data, std::size_t batch_size,
                    Communicator& communicator) {
  const std::size_t ranks = communicator.size();
  if (ranks == 1) return evaluate(model, data, batch_size);
  require_data_fits(model, data, "the data");
  const std::size_t rank = communicator.rank();
  std::vector<std::size_t> counts(ranks);
  for (std::size_t q = 0; q < ranks; ++q) {
    counts[q] = runtime::share(data.size(), ranks, q + 1) - runtime::share(data.size(), ranks, q);
  }
  std::vector<std::size_t> indices(counts[rank]);
  std::iota(indices.begin(), indices.end(), runtime::share(data.size(), ranks, rank));
  const Evaluation part = evaluate(model, data.subset(indices), batch_size);

  // The loss sums in rank order; the predictions and confidences of all samples in order.
  const std::vector<double> loss_sums =
      gather(communicator, std::vector<double>{part.loss * static_cast<double>(counts[rank])},
             std::vector<std::size_t>(ranks, 1));
  std::vector<std::uint64_t> mine(part.predictions.begin(), part.predictions.end());
  const std::vector<std::uint64_t> predictions = gather(communicator, mine, counts);

  Evaluation result;
  result.confidence = gather(communicator, part.confidence, counts);
  const std::size_t classes = data.num_classes();
  result.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
  std::size_t correct = 0;
  double loss_sum = 0.0;
  for (const double sum : loss_sums) loss_sum += sum;
  for (std::size_t n = 0; n < predictions.size(); ++n) {
    const std::size_t predicted = static_cast<std::size_t>(predictions[n]);
    result.predictions.push_back(predicted);
    ++result.confusion[data.labels[n]][predicted];
    if (predicted == data.labels[n]) ++correct;
  }
  const double count = static_cast<double>(data.size());
  result.loss = data.size() == 0 ? 0.0 : loss_sum / count;
  result.accuracy = data.size() == 0 ? 0.0 : static_cast<double>(correct) / count;
  return result;
}

template Evaluation evaluate<float>(Model<float>&, const Dataset<float>&, std::size_t,
                                    Communicator&);
template Evaluation evaluate<double>(Model<double>&, const Dataset<double>&, std::size_t,
                                     Communicator&);

}  // namespace cnnkit
