#pragma once
// NYUv2 in its two published layouts (exact formats in docs/data-formats.md):
//
// - NyuV2Lists: the NDDR-CNN reference code's list files. Each line of a list
//   holds an image path and a label path, relative to `root`. The seg list
//   pairs images with 40-class label PNGs (255 = ignore), the normals list
//   with 3-channel uint8 normals PNGs (all three channels 255 = invalid).
//
//     nddr::NyuV2Lists train(nddr::NyuV2ListsOptions().root("/data/nyu")
//                                .seg_list("/data/nyu/train_seg.txt")
//                                .normals_list("/data/nyu/train_normals.txt"));
//
// - NyuV2Mtan: the MTAN preprocessing, root/{train,val}/{image,label,depth,
//   normal}/<i>.npy with 13 classes (-1 = ignore, mapped to 255).
//
//     nddr::NyuV2Mtan val(nddr::NyuV2MtanOptions().root("/data/nyuv2").split("val"));

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nddr/data/dataset.h"

namespace nddr {

/// Classes of the reference code's NYUv2 labels and of MTAN's.
constexpr int64_t kNyuV2Classes = 40;
constexpr int64_t kNyuV2MtanClasses = 13;

struct NyuV2ListsOptions {
  /// Folder the paths inside the lists are relative to (a leading '/' in them
  /// is ignored, as the reference code concatenates); empty: the folder of
  /// the list file.
  TORCH_ARG(std::string, root) = "";
  /// List files; either may be empty, not both. With both, line i of each
  /// must name the same image.
  TORCH_ARG(std::string, seg_list) = "";
  TORCH_ARG(std::string, normals_list) = "";
  /// Task names of the segmentation and normals targets.
  TORCH_ARG(std::string, seg_task) = "seg";
  TORCH_ARG(std::string, normals_task) = "normals";
  /// Segmentation classes; labels must lie in [0, classes) or be 255.
  TORCH_ARG(int64_t, classes) = kNyuV2Classes;
};

/// Reads the list files on construction (Error naming the file and line of a
/// malformed or mismatched entry); get() decodes the files, thread-safe.
class NyuV2Lists : public Dataset {
 public:
  explicit NyuV2Lists(NyuV2ListsOptions options);

  int64_t size() const override;
  Sample get(int64_t index) const override;
  std::vector<TaskSpec> tasks() const override;
  std::string describe() const override;

  const NyuV2ListsOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string image;
    std::string seg;      // empty without a seg list
    std::string normals;  // empty without a normals list
  };
  NyuV2ListsOptions options_;
  std::vector<Entry> entries_;
};

struct NyuV2MtanOptions {
  /// Folder holding train/ and val/.
  TORCH_ARG(std::string, root) = "";
  /// "train" or "val".
  TORCH_ARG(std::string, split) = "train";
  /// Task names of the label, depth and normal arrays; an empty name leaves
  /// that target out (and its folder may then be absent).
  TORCH_ARG(std::string, seg_task) = "seg";
  TORCH_ARG(std::string, depth_task) = "depth";
  TORCH_ARG(std::string, normals_task) = "normals";
};

/// Finds the samples on construction: every <i>.npy in image/, each needing
/// its namesake in the folders of the enabled targets (Error naming the
/// missing file). get() checks each array's dtype and shape (Error naming the
/// file) and is thread-safe.
class NyuV2Mtan : public Dataset {
 public:
  explicit NyuV2Mtan(NyuV2MtanOptions options);

  int64_t size() const override;
  Sample get(int64_t index) const override;
  std::vector<TaskSpec> tasks() const override;
  std::string describe() const override;

  const NyuV2MtanOptions& options() const { return options_; }

 private:
  std::string file(const std::string& folder, int64_t index) const;

  NyuV2MtanOptions options_;
  std::string split_dir_;
  std::vector<int64_t> ids_;  // the <i> of each sample, ascending
};

}  // namespace nddr
