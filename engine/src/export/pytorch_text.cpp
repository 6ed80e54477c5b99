#include "pytorch_text.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace nnlab::pytorch {

namespace {

// Decodes one UTF-8 sequence at `i`; returns the code point and advances `i`, or -1.
long decodeUtf8(const std::string& s, size_t& i)
{
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char lead = byte(i);
    int extra = lead >= 0xF0 && lead < 0xF5 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC2 && lead < 0xE0 ? 1 : -1;
    if (lead >= 0xF5 || extra < 0 || i + size_t(extra) >= s.size())
        return -1;
    long code = lead & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
        if ((byte(i + size_t(k)) & 0xC0) != 0x80)
            return -1;
        code = (code << 6) | (byte(i + size_t(k)) & 0x3F);
    }
    const long least[] = {0, 0x80, 0x800, 0x10000};
    if (code < least[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return -1;
    i += size_t(extra) + 1;
    return code;
}

template <typename Same>
std::string shortest(int maxDigits, double value, Same same)
{
    if (std::isnan(value))
        return "float(\"nan\")";
    if (std::isinf(value))
        return value > 0 ? "float(\"inf\")" : "-float(\"inf\")";
    char text[40];
    for (int digits = 1; digits <= maxDigits; ++digits) {
        std::snprintf(text, sizeof text, "%.*g", digits, value);
        if (same(std::strtod(text, nullptr)))
            break;
    }
    std::string out = text;
    if (out.find_first_of(".e") == std::string::npos)
        out += ".0";
    return out;
}

} // namespace

std::string pyString(const std::string& text, const std::string& what)
{
    std::string out = "\"";
    for (size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        char buffer[16];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c >= 0x20 && c < 0x7F) {
            out += char(c);
        } else if (c < 0x80) {
            std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
            out += buffer;
        } else {
            const long code = decodeUtf8(text, i);
            if (code < 0)
                throw std::runtime_error(what + ": not valid UTF-8, so it has no Python spelling");
            std::snprintf(buffer, sizeof buffer, code > 0xFFFF ? "\\U%08lx" : "\\u%04lx", code);
            out += buffer;
            continue;
        }
        ++i;
    }
    return out + "\"";
}

std::string pyFloat(double value)
{
    return shortest(17, value, [&](double back) { return back == value; });
}

std::string pyFloat32(float value)
{
    return shortest(9, value, [&](double back) { return static_cast<float>(back) == value; });
}

std::string commentText(const std::string& text)
{
    std::string out = text;
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
            c = ' ';
    return out;
}

bool isIdentifier(const std::string& name)
{
    static const std::set<std::string> keywords{
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
        "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
        "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield"};
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) || keywords.count(name))
        return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
            return false;
    return true;
}

bool plainModuleName(const std::string& name)
{
    // nn.Sequential's public attributes in torch 1.13 and 2.x; the register_/named_/get_/set_
    // families are refused by prefix so later additions to them are covered too.
    static const std::set<std::string> attributes{
        "T_destination", "add_module", "append", "apply", "bfloat16", "buffers", "call_super_init", "children",
        "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extend", "extra_repr", "float", "forward",
        "half", "insert", "ipu", "load_state_dict", "modules", "mtia", "parameters", "pop", "requires_grad_",
        "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu", "zero_grad",
        "input_shift", "input_scale"};
    if (name.empty() || name.find('.') != std::string::npos)
        return false;
    if (!isIdentifier(name))
        return true;   // add_module only refuses names that are attributes, and those are identifiers
    for (const char* prefix : {"_", "register_", "named_", "get_", "set_"})
        if (name.rfind(prefix, 0) == 0)
            return false;
    return !attributes.count(name);
}

const char* const kResidualClass = R"PY(
class Residual(nn.Module):
    """nnlab's residual block: body(x) + x, or body(x) + shortcut(x) where the body changes
    the shape and a learned projection (a linear layer for flat inputs, else a strided 1x1
    convolution) maps the input onto the body's output."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.body(x) + skip
)PY";

const char* const kNamedLayersHelper = R"PY(
def named_layers(sequential, layers):
    """Puts (name, module) pairs into `sequential` under their names as they are.

    The names are nnlab's layer names and so the state-dict keys. add_module refuses a name
    that is also an attribute of nn.Sequential (such as "forward"), so these go into
    _modules directly, which is where add_module puts an accepted name."""
    for name, layer in layers:
        sequential._modules[name] = layer
    return sequential
)PY";

const char* const kRuntime = R"PY(
def read_safetensors_f32(path):
    """{name: tensor} of a safetensors file of F32 tensors, as nnlab writes them, for when the
    safetensors package is missing (Debian 12 has no python3-safetensors). Every length and
    offset is checked against the file before a byte is read."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file ({len(data)} bytes)")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise ValueError(f"{path}: the header length {length} runs past the end of the file")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except ValueError as e:
        raise ValueError(f"{path}: the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header is not a JSON object")
    body = bytearray(data[8 + length:])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        where = f"{path}: tensor {name!r}"
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if dtype != "F32":
            raise ValueError(f"{where}: dtype {dtype!r}; this reader takes F32 only "
                             "(the safetensors package reads every dtype)")
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if (not isinstance(shape, list) or not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(n) is int and n >= 0 for n in shape + offsets)):
            raise ValueError(f"{where}: shape and data_offsets must be lists of non-negative integers")
        begin, end = offsets
        count = math.prod(shape)
        if not begin <= end <= len(body):
            raise ValueError(f"{where}: data_offsets [{begin}, {end}] lie outside the {len(body)} bytes of data")
        if end - begin != 4 * count:
            raise ValueError(f"{where}: shape {shape} needs {4 * count} bytes, data_offsets give {end - begin}")
        if count == 0:
            tensors[name] = torch.zeros(shape)
            continue
        raw = torch.frombuffer(body, dtype=torch.uint8, count=end - begin, offset=begin)
        if sys.byteorder != "little":
            raw = raw.view(-1, 4).flip(1).reshape(-1)
        tensors[name] = raw.clone().view(torch.float32).reshape(shape)
    return tensors


def read_safetensors(path):
    """{name: tensor} of a safetensors file: the safetensors package's loader when it is
    installed, else read_safetensors_f32."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        return read_safetensors_f32(path)
    return load_file(path)


def load(weights_path=None, device="cpu"):
    """The trained model in evaluation mode on `device`, with its weights from `weights_path`
    (default: WEIGHTS_FILE, beside this module). Loading is strict: every tensor must be there
    with its shape, and nothing else."""
    if weights_path is None:
        weights_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), WEIGHTS_FILE)
    model = Model()
    expected = model.state_dict()
    # nnlab stores every tensor as float32; BatchNorm's num_batches_tracked is an int64 buffer.
    state = {name: tensor.to(expected[name].dtype) if name in expected else tensor
             for name, tensor in read_safetensors(weights_path).items()}
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


_loaded = None


def predict(raw, model=None):
    """Class probabilities (the softmax of the logits), one row per sample; for a regression
    model its outputs. `raw`: an array or tensor of N x INPUT_SHAPE values in the units of
    the training data (pixels 0..255, CSV values). `model` defaults to load(), loaded once."""
    global _loaded
    if model is None:
        if _loaded is None:
            _loaded = load()
        model = _loaded
    device = next(model.parameters()).device
    x = torch.as_tensor(raw, dtype=torch.float32, device=device).reshape(-1, *INPUT_SHAPE)
    with torch.no_grad():
        y = model(x)
    return torch.softmax(y, dim=1) if CLASS_NAMES else y


def main(argv):
    model = load()
    print(model)
    if len(argv) < 2:
        shape = " x ".join(str(d) for d in INPUT_SHAPE)
        print(f"\nTo predict: python3 {os.path.basename(argv[0])} INPUTS.npy  (raw inputs, N x {shape})")
        return 0
    import numpy
    for row in predict(numpy.load(argv[1]), model).tolist():
        if CLASS_NAMES:
            best = max(range(len(row)), key=row.__getitem__)
            print(f"{CLASS_NAMES[best]}\t{row[best]:.4f}")
        else:
            print("\t".join(f"{value:.6g}" for value in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
)PY";

} // namespace nnlab::pytorch
