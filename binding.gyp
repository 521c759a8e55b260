{
  "targets": [
    {
      "target_name": "prmkit",
      "sources": [
        "native/core/advantages.cpp",
        "native/core/bce.cpp",
        "native/core/dispatch.cpp",
        "native/core/env.cpp",
        "native/core/lm_head.cpp",
        "native/core/lm_head_avx2.cpp",
        "native/core/lm_head_avx512.cpp",
        "native/core/row_kernels_scalar.cpp",
        "native/core/row_kernels_avx2.cpp",
        "native/core/score_cpu.cpp",
        "native/core/thread_pool.cpp",
        "native/core/validate.cpp",
        "native/addon/addon.cpp",
        "native/addon/advantages.cpp",
        "native/addon/backend.cpp",
        "native/addon/bce.cpp",
        "native/addon/calls.cpp",
        "native/addon/device.cpp",
        "native/addon/lm_head.cpp",
        "native/addon/pin.cpp"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "PRMKIT_PIN_V8"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "conditions": [["OS=='linux'", { "ldflags": ["-Wl,-z,now"] }]],
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
    }
  ]
}
