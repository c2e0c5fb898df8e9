#pragma once
// Which GPU a rank of a distributed job uses when the config says only
// `device: auto` or `device: cuda`: the one numbered by its local rank (its
// place among the ranks on its node), as torch.cuda.set_device(LOCAL_RANK)
// does in a PyTorch DDP script. So one config runs unchanged under torchrun,
// srun, mpirun or `nddr train --nproc N` with one GPU per rank. `cuda:N` is
// taken as written (every rank on GPU N), and `cpu` stays the CPU.
//
//   set_process_local_rank(launch.local_rank);   // once, by the distributed launch
//   resolve_device("cuda");                      // -> cuda:<local rank>

#include <cstdint>
#include <string>

namespace nddr {

/// The device `value` of the device key names on the process with
/// `local_rank`, on a node with `cuda_devices` usable CUDA devices (0: no
/// CUDA): "auto" is "cuda:<local_rank>" with CUDA and "cpu" without; "cuda" is
/// "cuda:<local_rank>" (and stays "cuda" without CUDA, for resolve_device's
/// error); anything else is returned as it is. A local rank with no GPU of its
/// number (more ranks than GPUs on the node) is an Error naming `key`.
std::string device_for_local_rank(const std::string& value, int64_t local_rank,
                                  int64_t cuda_devices, const std::string& key = "device");

/// This process's local rank, which resolve_device applies to "auto" and
/// "cuda"; 0 until a distributed launch sets it (dist::process_group_for_run).
/// Process-wide, as a process's GPU is: ranks run as separate processes.
void set_process_local_rank(int64_t local_rank);
int64_t process_local_rank();

}  // namespace nddr
