"""Who is calling in, by caller id; and the debtor's card the agent speaks from."""

from __future__ import annotations

from campaigns.debtors import DebtorDirectory
from tests.campaigns.conftest import seed_debtors


async def test_an_inbound_caller_is_known_by_their_number_only_when_it_is_theirs_alone(db_pool, company):
    first, second = await seed_debtors(db_pool, company, 2, phones=1)
    directory = DebtorDirectory(db_pool)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT debtor_id, e164 FROM phones WHERE debtor_id = ANY(%s)", ([first, second],))
        numbers = dict(await cur.fetchall())
    own = numbers[first]
    national = "9 " + own[4:8] + " " + own[8:]  # how a Chilean caller id may arrive: no +56
    card = await directory.find_by_caller(national)
    assert card is not None and card.debtor_id == first and card.full_name == "Deudor 0"
    assert card.amount_owed == 1000 and card.delinquency_type == "temprana"

    assert await directory.find_by_caller("1001") is None  # a softphone extension identifies nobody
    async with db_pool.connection() as conn:  # a shared family phone identifies nobody either
        await conn.execute("INSERT INTO phones (debtor_id, e164, position) VALUES (%s, %s, 1)", (second, own))
    assert await directory.find_by_caller(own) is None
    async with db_pool.connection() as conn:
        await conn.execute("DELETE FROM phones WHERE debtor_id = %s AND e164 = %s", (second, own))
        await conn.execute("UPDATE debtors SET excluded_at = now() WHERE id = %s", (first,))
    assert await directory.find_by_caller(own) is None  # excluded: the agent treats them as unknown
