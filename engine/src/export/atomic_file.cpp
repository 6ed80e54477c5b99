#include "nnlab/atomic_file.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace nnlab {

void writeFileAtomically(const std::string& path, const std::function<void(std::ostream&)>& write)
{
    const std::string temp = path + ".tmp";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (out)
            write(out);
        out.flush();
        if (!out) {
            std::remove(temp.c_str());
            throw std::runtime_error(path + ": cannot write (disk full or no permission?)");
        }
    }
    const int fd = ::open(temp.c_str(), O_RDONLY);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0)
        ::close(fd);
    if (!synced || std::rename(temp.c_str(), path.c_str()) != 0) {
        std::remove(temp.c_str());
        throw std::runtime_error(path + ": cannot write");
    }
}

void writeFileAtomically(const std::string& path, const std::string& contents)
{
    writeFileAtomically(path, [&](std::ostream& out) { out.write(contents.data(), std::streamsize(contents.size())); });
}

} // namespace nnlab
