// Denormal numbers: whether arithmetic flushes them to zero (x86 MXCSR FTZ and DAZ).
// Late in training, tiny gradients and Adam moments become denormal, and an operation on a
// denormal takes a slow microcode path on many x86 CPUs: training then slows down epoch by epoch
// for the same accuracy (docs/PERFORMANCE.md, "Denormals"). PyTorch offers the same switch as
// torch.set_flush_denormal. Off by default, as for any C++ program: a library does not change a
// thread's floating-point environment unless asked. The cnnkit tool turns it on.
#pragma once

namespace cnnkit {

// Flushes denormal results and inputs to zero (on = true) or stops doing so, on the calling
// thread and on every thread of cnnkit's OpenMP pool (threads it starts later copy the calling
// thread's setting). Returns false, changing nothing, on CPUs without the switch (non-x86).
bool set_flush_denormals(bool on);

// Whether the calling thread flushes denormals to zero.
bool flush_denormals();

}  // namespace cnnkit
