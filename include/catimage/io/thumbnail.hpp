#pragma once
// Small copies of images for a page (`catimage report --embed`): an image that already fits in
// max_side x max_side is kept as it is (its own bytes, exact pixels); a larger one is decoded
// (stb_image), shrunk to fit by averaging the source pixels each thumbnail pixel covers (its
// aspect ratio kept), and encoded as a JPEG (stb_image_write, quality 85): a 1024² PNG of a
// few MB becomes a 256² JPEG of tens of KB.
#include <string>

namespace catimage {

struct Thumbnail {
  std::string mime;   // "image/png" (kept as it is) or "image/jpeg"
  std::string bytes;  // the encoded image
  int width = 0, height = 0;
};

// `bytes`: a PNG (or any format stb_image reads); fails naming `who` when it cannot be decoded.
Thumbnail make_thumbnail(const std::string& bytes, int max_side, const std::string& who);

}  // namespace catimage
