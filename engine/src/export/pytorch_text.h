// Pieces of the generated PyTorch module (pytorch_export.cpp): Python literals spelled so
// that Python reads back exactly the value nnlab holds, and the module's fixed code.
#pragma once

#include <string>

namespace nnlab::pytorch {

// A Python string literal in plain ASCII: quotes, backslashes and control characters escaped,
// other characters as \u escapes. Throws std::runtime_error naming `what` when `text` is not
// UTF-8.
std::string pyString(const std::string& text, const std::string& what);

// The shortest decimal that Python's float() reads back as `value` ("0.01", "1e-05").
std::string pyFloat(double value);
// The shortest decimal that float() then a float32 tensor read back as `value`.
std::string pyFloat32(float value);

// `text` on one comment line: control characters become spaces.
std::string commentText(const std::string& text);

// True when `name` is a valid Python identifier in ASCII and not a keyword.
bool isIdentifier(const std::string& name);

// A layer name that nn.Module.add_module accepts: it refuses names that are also attributes
// of nn.Sequential ("forward", "eval", "_modules"), and names shadowed by the model's buffers.
bool plainModuleName(const std::string& name);

// The Residual class, the helper that sets layers under any name, the safetensors reader,
// load(), predict() and the command line: code that does not depend on the model.
extern const char* const kResidualClass;
extern const char* const kNamedLayersHelper;
extern const char* const kRuntime;

} // namespace nnlab::pytorch
