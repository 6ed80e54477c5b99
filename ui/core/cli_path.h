// Where nnlab-cli is, for what the window runs as a child process (local deployments, the
// worker processes of a data-parallel run): $NNLAB_CLI, else beside this program (installed),
// else in the build tree, else from PATH.
#pragma once

#include <QString>

QString nnlabCliPath();
