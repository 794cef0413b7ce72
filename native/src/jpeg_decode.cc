// A fast path for the commonest image: an ordinary colour JPEG already at the model's size.
// sharp (libvips) spends ~1 ms of CPU on each 32×32 JPEG setting up its pipeline; libjpeg-turbo
// itself decodes one in tens of µs. The decode runs on libuv's thread pool. libvips decodes JPEGs
// with the same library and the same settings (libjpeg's defaults: integer IDCT, fancy upsampling),
// so the pixels are identical (test/data/jpeg-fast-path.test.ts checks them against sharp).
// Anything else — another format, a grey, CMYK or ICC-tagged JPEG, another size, a warning from
// the decoder, a damaged file — resolves to null and the caller decodes with sharp, which also
// words the errors.
#include "common.h"
#ifdef DM_HAVE_LIBJPEG  // set by binding.gyp (find-libjpeg.cjs) when libjpeg's headers are installed
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>
#include <jpeglib.h>
#endif

namespace dm {

#ifdef DM_HAVE_LIBJPEG
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf escape;
};

[[noreturn]] void OnError(j_common_ptr cinfo) { longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->escape, 1); }
// A warning (corrupt data libjpeg worked around) is refused too: sharp fails on warnings by default.
void OnMessage(j_common_ptr cinfo, int level) {
  if (level < 0) longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->escape, 1);
}

bool HasIccProfile(jpeg_decompress_struct* cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 2 && m->data_length >= 12 && std::memcmp(m->data, "ICC_PROFILE", 12) == 0) return true;
  }
  return false;
}

// Decodes data into out (H×W×3) when it is a 3-component YCbCr JPEG without an ICC profile whose
// size is width × height (0 × 0: any size up to maxPixels). False when the fast path does not apply.
// No C++ object with a destructor lives between setjmp and a longjmp, as longjmp requires.
bool DecodeRgbJpeg(const uint8_t* data, size_t size, int width, int height, double maxPixels, std::vector<uint8_t>* out,
                   int* outWidth, int* outHeight) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = OnError;
  err.pub.emit_message = OnMessage;
  if (setjmp(err.escape)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));  // NOLINT(runtime/int): libjpeg's type
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);
  jpeg_read_header(&cinfo, TRUE);
  const bool wanted = cinfo.num_components == 3 && cinfo.jpeg_color_space == JCS_YCbCr && cinfo.data_precision == 8 &&
                      !HasIccProfile(&cinfo) &&
                      (width == 0 ? static_cast<double>(cinfo.image_width) * cinfo.image_height <= maxPixels
                                  : static_cast<int>(cinfo.image_width) == width && static_cast<int>(cinfo.image_height) == height);
  if (!wanted) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const size_t stride = static_cast<size_t>(cinfo.output_width) * 3;
  try {
    out->resize(stride * cinfo.output_height);
  } catch (const std::bad_alloc&) {
    // Without this, the exception would leave libjpeg's buffers (a whole image's coefficients for a
    // progressive file) allocated for good; sharp tries the image next, and words the error.
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out->data() + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  *outWidth = static_cast<int>(cinfo.output_width);
  *outHeight = static_cast<int>(cinfo.output_height);
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

class JpegWorker : public Napi::AsyncWorker {
 public:
  JpegWorker(Napi::Env env, Napi::Buffer<uint8_t> data, int width, int height, double maxPixels)
      : Napi::AsyncWorker(env), data_(Napi::Persistent(data)), bytes_(data.Data()), size_(data.Length()),
        width_(width), height_(height), maxPixels_(maxPixels), deferred_(env) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    decoded_ = DecodeRgbJpeg(bytes_, size_, width_, height_, maxPixels_, &pixels_, &outWidth_, &outHeight_);
  }
  void OnOK() override {
    if (!decoded_) {
      deferred_.Resolve(Env().Null());
      return;
    }
    auto result = Napi::Object::New(Env());
    result.Set("pixels", Napi::Buffer<uint8_t>::Copy(Env(), pixels_.data(), pixels_.size()));
    result.Set("width", outWidth_);
    result.Set("height", outHeight_);
    deferred_.Resolve(result);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Reference<Napi::Buffer<uint8_t>> data_;  // keeps the encoded bytes alive while a pool thread reads them
  const uint8_t* bytes_;
  size_t size_;
  int width_, height_;
  double maxPixels_;
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> pixels_;
  bool decoded_ = false;
  int outWidth_ = 0, outHeight_ = 0;
};

}  // namespace
#endif

void InitJpegDecode(Napi::Env env, Napi::Object exports) {
  // decodeJpegRgb(buffer, width, height, maxPixels): a Promise of { pixels (H×W×3), width, height }, or of
  // null where sharp must decode. width = height = 0 takes any size up to maxPixels.
  DM_FN(exports, "decodeJpegRgb", {
    if (!info[0].IsBuffer()) throw ArgError("argument 0 is not a Buffer");
    auto data = info[0].As<Napi::Buffer<uint8_t>>();
    const int width = static_cast<int>(IntArg(info, 1));
    const int height = static_cast<int>(IntArg(info, 2));
#ifdef DM_HAVE_LIBJPEG
    auto* w = new JpegWorker(env, data, width, height, NumArg(info, 3));
    auto p = w->Promise();
    w->Queue();
    return p;
#else
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Resolve(env.Null());
    return deferred.Promise();
#endif
  });
  DM_FN(exports, "hasJpegFastPath", {
#ifdef DM_HAVE_LIBJPEG
    return Napi::Boolean::New(env, true);
#else
    return Napi::Boolean::New(env, false);
#endif
  });
}

}  // namespace dm
