// Evaluation split across the ranks of a data-parallel run (docs/DISTRIBUTED.md): rank r
// evaluates the contiguous slice r of the data, and every rank gets the whole Evaluation (loss,
// accuracy, confusion matrix, every sample's prediction and confidence) gathered in rank order.
#pragma once

#include <cstddef>

#include "cnnkit/communicator.hpp"
#include "cnnkit/model/evaluation.hpp"

namespace cnnkit {

// On one rank: evaluate(model, data, batch_size).
template <typename T>
Evaluation evaluate(Model<T>& model, const Dataset<T>& data, std::size_t batch_size,
                    Communicator& communicator);

extern template Evaluation evaluate<float>(Model<float>&, const Dataset<float>&, std::size_t,
                                           Communicator&);
extern template Evaluation evaluate<double>(Model<double>&, const Dataset<double>&, std::size_t,
                                            Communicator&);

}  // namespace cnnkit
