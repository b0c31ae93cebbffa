"""Pure, vectorised physical models of dcplan.

Every function here takes plain numbers, numpy arrays or xarray DataArrays in the
canonical units named in its docstring (in [brackets]) and returns the same kind. No
function reads files, prints, touches pint or Pyomo; ``dcplan.inputs`` is the only caller
that feeds them study data.

Modules: ``chips`` (system power, compute, perf/W), ``loads`` (hourly load curves),
``racks`` (density, floor area, cooling compatibility, busbar current), ``electrical``
(transformer/UPS/distribution losses, redundancy), ``psychrometrics``, ``cooling``,
``water`` and ``grid``. Import the module you need, e.g.
``from dcplan.physics import chips``; this package imports nothing itself.
"""
