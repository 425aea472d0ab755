"""Per-channel mailboxes keep each channel's order while channels run concurrently."""

import asyncio

from callcenter.ari.mailbox import Mailboxes


async def test_items_of_one_key_are_handled_in_order_even_when_handlers_block() -> None:
    seen: list[tuple[str, int]] = []

    async def handle(key: str, item: int) -> None:
        # The first item of each key is slow: later items of the same key must wait for it.
        await asyncio.sleep(0.05 if item == 0 else 0)
        seen.append((key, item))

    boxes: Mailboxes[int] = Mailboxes(handle)
    for i in range(3):
        boxes.post("a", i)
        boxes.post("b", i)
    await asyncio.sleep(0.2)
    assert [i for k, i in seen if k == "a"] == [0, 1, 2]
    assert [i for k, i in seen if k == "b"] == [0, 1, 2]
    await boxes.close()


async def test_keys_run_concurrently() -> None:
    started = asyncio.Event()

    async def handle(key: str, item: int) -> None:
        if key == "slow":
            await started.wait()
        else:
            started.set()

    boxes: Mailboxes[int] = Mailboxes(handle)
    boxes.post("slow", 1)
    boxes.post("fast", 1)
    await asyncio.wait_for(boxes.drain(), 1)
    await asyncio.sleep(0.01)
    assert started.is_set()
    await boxes.close()


async def test_a_failing_handler_does_not_stop_the_mailbox_and_idle_boxes_go_away() -> None:
    seen: list[int] = []

    async def handle(key: str, item: int) -> None:
        if item == 1:
            raise RuntimeError("boom")
        seen.append(item)

    boxes: Mailboxes[int] = Mailboxes(handle, idle_s=0.05)
    for i in range(3):
        boxes.post("k", i)
    await asyncio.sleep(0.2)
    assert seen == [0, 2]
    assert boxes.keys() == []
    await boxes.close()
