r"""Accelerator, node and rack power; fleet IT power and dense compute.

All functions are pure and vectorised: they accept Python scalars, numpy arrays or
``xarray.DataArray`` objects (broadcast by dimension name) and return the same kind.
Power is nameplate (maximum rated) power at the rack input unless a load fraction is
applied; FLOPS are dense (no 2:4 sparsity).

References
----------
.. [1] NVIDIA, "NVIDIA DGX H100/H200 User Guide", power specifications: 10.2 kW
   maximum per system, 6 x 3.3 kW PSUs.
.. [2] NVIDIA, "DGX SuperPOD Data Center Design featuring DGX H100": four DGX H100
   per rack, 40.8 kW.
.. [3] NVIDIA, "DGX B200 User Guide": 14.3 kW maximum per system.
.. [4] NVIDIA H100 Tensor Core GPU datasheet: 700 W SXM5, 989.4 TFLOPS dense BF16.
.. [5] I. Latif et al., "Empirical Measurements of AI Training Power Demand on a GPU-
   Accelerated Node", arXiv:2506.14551, 2025 (HGX H100: max observed 8.4 kW).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DGX_H100_HOST_KW",
    "fleet_dense_pflops",
    "fleet_it_mw",
    "gpus_per_it_mw",
    "it_kw_per_gpu",
    "cluster_kw_per_gpu",
    "node_power_kw",
    "perf_per_watt",
    "rack_power_kw",
    "system_perf_per_watt",
]

#: Non-GPU share of an 8-GPU air-cooled node at nameplate [kW]: DGX H100 10.2 kW [1]
#: minus 8 x 700 W GPUs [4] = 4.6 kW (CPUs, memory, NICs, NVSwitch, fans, PSU loss).
DGX_H100_HOST_KW = 10.2 - 8 * 0.700


def _check(name: str, value, *, positive: bool = False, upper: float | None = None) -> None:
    """Raise ValueError naming ``name`` if ``value`` holds NaN, negatives (or zeros)."""
    arr = np.asarray(value, dtype=float)
    if np.isnan(arr).any():
        msg = f"{name} contains NaN; give a number for every element"
        raise ValueError(msg)
    bad = arr <= 0 if positive else arr < 0
    if bad.any():
        sign = "> 0" if positive else ">= 0"
        msg = f"{name} must be {sign}, got {arr[bad].ravel()[:5].tolist()}"
        raise ValueError(msg)
    if upper is not None and (arr > upper).any():
        msg = f"{name} must be <= {upper:g}, got {arr[arr > upper].ravel()[:5].tolist()}"
        raise ValueError(msg)


def node_power_kw(chip_tdp_w, gpus_per_node, host_kw=DGX_H100_HOST_KW):
    r"""Nameplate power of one node from its accelerators and host share.

    Use this for custom parts without a vendor system rating; prefer a vendor's node
    maximum (``node_max_kw`` in ``data/chips.csv``) where one exists.

    Parameters
    ----------
    chip_tdp_w : numeric
        Maximum board/module power of one accelerator. [W]
    gpus_per_node : numeric
        Accelerators per node. [unitless]
    host_kw : numeric, default 4.6
        Everything else in the node at nameplate: CPUs, memory, NICs, switches, fans,
        power-supply losses. Default derived from the DGX H100 [1]_, [4]_. [kW]

    Returns
    -------
    numeric
        Node nameplate power. [kW]

    Notes
    -----
    .. math:: P_{node} = n_{gpu} \, P_{tdp} / 1000 + P_{host}

    References
    ----------
    .. [1] NVIDIA DGX H100 User Guide, 10.2 kW maximum.
    .. [4] NVIDIA H100 datasheet, 700 W.

    Examples
    --------
    >>> round(node_power_kw(700, 8), 3)
    10.2
    """
    _check("chip_tdp_w", chip_tdp_w, positive=True)
    _check("gpus_per_node", gpus_per_node, positive=True)
    _check("host_kw", host_kw)
    return gpus_per_node * chip_tdp_w / 1000.0 + host_kw


def rack_power_kw(nodes_per_rack, node_max_kw, overhead_kw=0.0):
    r"""Nameplate power of a rack of identical nodes.

    Parameters
    ----------
    nodes_per_rack : numeric
        Nodes (or compute trays) per rack. [unitless]
    node_max_kw : numeric
        Nameplate power of one node. [kW]
    overhead_kw : numeric, default 0
        In-rack equipment that is not a node: NVLink switch trays, top-of-rack
        switches, power-shelf losses. [kW]

    Returns
    -------
    numeric
        Rack nameplate power. [kW]

    Notes
    -----
    .. math:: P_{rack} = n_{node} \, P_{node} + P_{overhead}

    References
    ----------
    .. [2] NVIDIA DGX SuperPOD (H100) data centre design: 4 x 10.2 kW = 40.8 kW.

    Examples
    --------
    >>> round(rack_power_kw(4, 10.2), 1)
    40.8
    """
    _check("nodes_per_rack", nodes_per_rack, positive=True)
    _check("node_max_kw", node_max_kw, positive=True)
    _check("overhead_kw", overhead_kw)
    return nodes_per_rack * node_max_kw + overhead_kw


def it_kw_per_gpu(rack_kw, gpus_per_rack):
    r"""Nameplate IT power per GPU including its share of node and rack.

    Parameters
    ----------
    rack_kw : numeric
        Rack nameplate power. [kW]
    gpus_per_rack : numeric
        Accelerators per rack. [unitless]

    Returns
    -------
    numeric
        IT power per GPU at nameplate. [kW]

    Notes
    -----
    .. math:: p_{gpu} = P_{rack} / n_{gpu}

    References
    ----------
    .. [2] NVIDIA DGX SuperPOD (H100): 40.8 kW / 32 GPUs = 1.275 kW per GPU.

    Examples
    --------
    >>> it_kw_per_gpu(40.8, 32)
    1.275
    """
    _check("rack_kw", rack_kw, positive=True)
    _check("gpus_per_rack", gpus_per_rack, positive=True)
    return rack_kw / gpus_per_rack


def cluster_kw_per_gpu(rack_kw, gpus_per_rack, network_kw_per_gpu=0.0,
                       storage_kw_per_gpu=0.0, mgmt_kw_per_gpu=0.0):
    r"""Nameplate IT power per GPU at cluster level: the GPU rack plus the scalable unit's share.

    A training cluster is more than its GPU racks: the scale-out (compute) and storage
    fabrics (leaf/spine switches and their optics), the storage appliances, and the CPU
    management, head and login nodes with their Ethernet switches all draw IT power
    behind the same meter.

    .. math:: p_{cluster} = P_{rack}/n_{gpu} + p_{net} + p_{storage} + p_{mgmt}

    Parameters
    ----------
    rack_kw, gpus_per_rack : numeric
        GPU rack nameplate power [kW] and accelerators per rack.
    network_kw_per_gpu, storage_kw_per_gpu, mgmt_kw_per_gpu : numeric
        Per-GPU shares of the fabric switches, storage and management nodes. [kW]

    Returns
    -------
    numeric
        [kW]

    References
    ----------
    .. [1] NVIDIA DGX SuperPOD reference architecture with DGX GB200: one scalable unit
       (8 NVL72 racks, 576 GPUs) has a TDP of 1.2 MW -> 2.08 kW per GPU, against
       132 kW / 72 = 1.83 kW for the rack alone.
    .. [2] NVIDIA DGX SuperPOD reference architecture with DGX H100: 32 DGX per SU,
       8 leaf + 4 spine NDR switches per SU in the compute fabric, a separate storage
       fabric, and management nodes and Ethernet switches per SuperPOD (see
       docs/physics-it.md for the build-up).

    Examples
    --------
    >>> round(cluster_kw_per_gpu(132.0, 72, 0.188, 0.046, 0.016), 3)
    2.083
    """
    for name, v in (("network_kw_per_gpu", network_kw_per_gpu),
                    ("storage_kw_per_gpu", storage_kw_per_gpu),
                    ("mgmt_kw_per_gpu", mgmt_kw_per_gpu)):
        _check(name, v)
    return (it_kw_per_gpu(rack_kw, gpus_per_rack) + network_kw_per_gpu + storage_kw_per_gpu
            + mgmt_kw_per_gpu)


def fleet_it_mw(n_gpus, it_kw_per_gpu, load_fraction=1.0):
    r"""IT power of a fleet of GPUs.

    Parameters
    ----------
    n_gpus : numeric
        Number of GPUs. [unitless]
    it_kw_per_gpu : numeric
        Nameplate IT power per GPU (see :func:`it_kw_per_gpu`). [kW]
    load_fraction : numeric, default 1.0
        IT power / nameplate, e.g. a mean or peak from :mod:`dcplan.physics.loads`.
        Must lie in [0, 1]. [unitless]

    Returns
    -------
    numeric
        Fleet IT power. [MW]

    Notes
    -----
    .. math:: P_{IT} = N \, p_{gpu} \, f / 1000

    Examples
    --------
    >>> round(fleet_it_mw(100_000, 1.275), 1)
    127.5
    """
    _check("n_gpus", n_gpus)
    _check("it_kw_per_gpu", it_kw_per_gpu)
    _check("load_fraction", load_fraction, upper=1.0)
    return n_gpus * it_kw_per_gpu * load_fraction / 1000.0


def gpus_per_it_mw(it_kw_per_gpu):
    """GPUs that one MW of nameplate IT capacity hosts. [GPU/MW]

    Parameters
    ----------
    it_kw_per_gpu : numeric
        Nameplate IT power per GPU. [kW]

    Returns
    -------
    numeric
        GPUs per MW of IT. [1/MW]

    Examples
    --------
    >>> round(gpus_per_it_mw(1.275), 1)
    784.3
    """
    _check("it_kw_per_gpu", it_kw_per_gpu, positive=True)
    return 1000.0 / it_kw_per_gpu


def perf_per_watt(dense_tflops, power_w):
    r"""Dense compute per watt of a chip at its maximum board power.

    Parameters
    ----------
    dense_tflops : numeric
        Dense tensor throughput (e.g. BF16). [TFLOPS]
    power_w : numeric
        Board/module power. [W]

    Returns
    -------
    numeric
        Efficiency. [TFLOPS/W]

    Notes
    -----
    Chip-level figures overstate system efficiency; see :func:`system_perf_per_watt`.

    References
    ----------
    .. [4] NVIDIA H100 datasheet: 989.4 TFLOPS BF16 / 700 W = 1.41 TFLOPS/W.

    Examples
    --------
    >>> round(perf_per_watt(989.4, 700), 2)
    1.41
    """
    _check("dense_tflops", dense_tflops)
    _check("power_w", power_w, positive=True)
    return dense_tflops / power_w


def system_perf_per_watt(dense_tflops, it_kw_per_gpu):
    r"""Dense compute per watt of rack IT power (GPU plus its node and rack share).

    Parameters
    ----------
    dense_tflops : numeric
        Dense tensor throughput per GPU. [TFLOPS]
    it_kw_per_gpu : numeric
        Nameplate IT power per GPU. [kW]

    Returns
    -------
    numeric
        Efficiency at the rack input. [TFLOPS/W]

    References
    ----------
    .. [1] DGX H100: 8 x 989.4 TFLOPS / 10.2 kW = 0.78 TFLOPS/W.

    Examples
    --------
    >>> round(system_perf_per_watt(989.4, 10.2 / 8), 2)
    0.78
    """
    _check("dense_tflops", dense_tflops)
    _check("it_kw_per_gpu", it_kw_per_gpu, positive=True)
    return dense_tflops / (it_kw_per_gpu * 1000.0)


def fleet_dense_pflops(n_gpus, dense_bf16_tflops):
    r"""Dense compute of a fleet.

    Parameters
    ----------
    n_gpus : numeric
        Number of GPUs. [unitless]
    dense_bf16_tflops : numeric
        Dense BF16 throughput per GPU. [TFLOPS]

    Returns
    -------
    numeric
        Fleet dense compute. [PFLOPS]

    Examples
    --------
    >>> round(fleet_dense_pflops(72, 2500), 1)
    180.0
    """
    _check("n_gpus", n_gpus)
    _check("dense_bf16_tflops", dense_bf16_tflops)
    return n_gpus * dense_bf16_tflops / 1000.0
