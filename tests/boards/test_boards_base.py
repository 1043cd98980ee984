"""The board registry and the per-board facts."""

from __future__ import annotations

import pytest

from toolchain.boards import BOARDS, get_board
from toolchain.boards.base import Board, canonical_board_name
from toolchain.errors import NotAvailableError, UnknownNameError


def test_registry_holds_the_three_boards():
    assert BOARDS.names() == ["STM32N6570-DK", "host", "qemu-m55"]
    for name in BOARDS.names():
        board = get_board(name)
        assert isinstance(board, Board)
        assert board.name == name


def test_alias_and_unknown_name():
    assert canonical_board_name("STM32N6") == "STM32N6570-DK"
    assert get_board("STM32N6").name == "STM32N6570-DK"
    with pytest.raises(UnknownNameError) as err:
        get_board("qemu-m5")
    assert "qemu-m55" in str(err.value) and "Valid:" in str(err.value)


def test_facts_match_the_contract():
    qemu = get_board("qemu-m55").facts
    assert qemu.counter_unit == "instructions"
    assert "-mcpu=cortex-m55" in qemu.toolchain.cflags
    assert "-ffp-contract=off" in qemu.toolchain.cflags and "-Werror" in qemu.toolchain.cflags
    assert not any("fast-math" in f for f in qemu.toolchain.cflags)
    assert qemu.sections["weights"] == "QSPI"
    assert qemu.toolchain.package == "gcc-arm-none-eabi"
    assert get_board("host").facts.counter_unit == "ns"
    n6 = get_board("STM32N6").facts
    assert n6.counter_unit == "cycles"
    assert n6.status == "compiled, not yet run on hardware"
    assert {r.name for r in n6.memory} == {"AXISRAM1", "AXISRAM2"}
    for name in BOARDS.names():
        # The ring must hold at least one flow-control window (docs/protocol.md): >= 4 KiB.
        ring = get_board(name).facts.uart_rx_ring_size
        assert ring >= 4096 and ring & (ring - 1) == 0


def test_hardware_board_cannot_be_started(tmp_path):
    with pytest.raises(NotAvailableError, match="STM32N6570-DK"):
        get_board("STM32N6").start(tmp_path)
