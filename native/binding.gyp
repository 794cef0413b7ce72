{
  "targets": [{
    "target_name": "deepmetric",
    "sources": [
      "src/addon.cc", "src/tensor.cc", "src/ops_math.cc", "src/ops_shape.cc", "src/ops_nn.cc",
      "src/autograd.cc", "src/optim.cc", "src/runtime.cc", "src/distributed.cc",
      "src/jpeg_decode.cc"
    ],
    "include_dirs": ["<!@(node -p \"require('node-addon-api').include_dir\")", "<!@(node find-libtorch.cjs include)"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "<!@(node find-libtorch.cjs defines)", "<!@(node find-libjpeg.cjs defines)"],
    "cflags!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
    "libraries": [
      "-L<!(node find-libtorch.cjs libdir)",
      "-Wl,-rpath,<!(node find-libtorch.cjs libdir)",
      "-Wl,--no-as-needed",
      "<!@(node find-libtorch.cjs libs)",
      "<!@(node find-libjpeg.cjs libs)"
    ]
  }]
}
