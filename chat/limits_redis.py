"""Sending limits shared by all nodes through Redis: one Lua script per message checks the
token buckets, slow mode and the repeated-text memory, and records only when all pass.

The time comes from the caller (the service's clock), so retry-after values are the same
as `LocalLimits` gives on one node. While Redis is away the node falls back to its own
memory (logged once): a message is never refused because Redis is missing.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chat.limits import ChatLimits, LimitAsk, LocalLimits, Refusal

log = logging.getLogger("onair.chat")

SLOW_TTL_SECONDS = 3600  # the longest slow mode: a later, longer setting still sees it

# KEYS: user bucket, guest address bucket, slow-mode last-sent, recent skeleton hashes.
# ARGV: now, capacity, seconds per token, address capacity, address seconds per token,
#       use address (0/1), slow seconds, skeleton hash, check flood (0/1), repeats,
#       window, remember, slow ttl.
# Returns false when allowed (and recorded), else {code, retry_after as text}.
_CHECK = """
local now = tonumber(ARGV[1])
local function tokens(key, capacity, interval)
  local s = redis.call('HMGET', key, 't', 'at')
  if not s[1] then return capacity, now end
  local at = tonumber(s[2])
  local elapsed = now - at
  if elapsed < 0 then elapsed = 0 else at = now end
  return math.min(capacity, tonumber(s[1]) + elapsed / interval), at
end
local function num(x) return string.format('%.17g', x) end
local cap, interval = tonumber(ARGV[2]), tonumber(ARGV[3])
local ipcap, ipinterval = tonumber(ARGV[4]), tonumber(ARGV[5])
local use_ip = ARGV[6] == '1'
local have, at = tokens(KEYS[1], cap, interval)
if have < 1 then return {'rate_limited', num((1 - have) * interval)} end
local iphave, ipat = 0, now
if use_ip then
  iphave, ipat = tokens(KEYS[2], ipcap, ipinterval)
  if iphave < 1 then return {'rate_limited', num((1 - iphave) * ipinterval)} end
end
local slow = tonumber(ARGV[7])
if slow > 0 then
  local last = redis.call('GET', KEYS[3])
  if last then
    local wait = tonumber(last) + slow - now
    if wait > 0 then return {'slow_mode', num(wait)} end
  end
end
local hash, window = ARGV[8], tonumber(ARGV[11])
if ARGV[9] == '1' then
  local repeats, cutoff, same = tonumber(ARGV[10]), now - window, {}
  for _, entry in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
    local sep = string.find(entry, '|', 1, true)
    local when = tonumber(string.sub(entry, sep + 1))
    if string.sub(entry, 1, sep - 1) == hash and when > cutoff then same[#same + 1] = when end
  end
  if #same >= repeats then
    return {'repeated_text', num(same[#same - repeats + 1] + window - now)}
  end
end
redis.call('HSET', KEYS[1], 't', num(have - 1), 'at', num(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap * interval * 1000) + 1000)
if use_ip then
  redis.call('HSET', KEYS[2], 't', num(iphave - 1), 'at', num(ipat))
  redis.call('PEXPIRE', KEYS[2], math.ceil(ipcap * ipinterval * 1000) + 1000)
end
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[13])
redis.call('RPUSH', KEYS[4], hash .. '|' .. ARGV[1])
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[12]), -1)
redis.call('PEXPIRE', KEYS[4], math.ceil(window * 1000) + 1000)
return false
"""


class RedisLimits:
    """The limits of `LocalLimits`, exact across nodes; one round trip per message."""

    def __init__(self, redis: Redis, prefix: str, limits: ChatLimits | None = None) -> None:
        self._prefix = prefix + "chat:limit:"
        self._script: Any = redis.register_script(_CHECK)
        self._local = LocalLimits()
        self._degraded = False
        self.configure(limits or ChatLimits())

    def configure(self, limits: ChatLimits) -> None:
        self.limits = limits
        self._local.configure(limits)
        self._viewer = (str(limits.viewer_messages),
                        repr(limits.viewer_period / limits.viewer_messages))
        self._staff = (str(limits.staff_messages),
                       repr(limits.staff_period / limits.staff_messages))
        self._guest_ip = (str(limits.guest_ip_messages),
                          repr(limits.guest_ip_period / limits.guest_ip_messages))
        flood = limits.flood
        self._flood = (str(flood.repeats), repr(float(flood.window)), str(flood.remember))

    async def check(self, ask: LimitAsk, now: float) -> Refusal | None:
        """Check and record in one script; on a Redis error, this node's memory decides."""
        p = self._prefix
        kind, (capacity, interval) = (("s", self._staff) if ask.staff
                                      else ("v", self._viewer))
        repeats, window, remember = self._flood
        ip = ask.guest_ip or ""
        try:
            raw = await self._script(
                keys=[f"{p}{kind}:{ask.user_id}", f"{p}ip:{ip}", f"{p}slow:{ask.slow_key}",
                      f"{p}recent:{ask.user_id}"],
                args=[repr(float(now)), capacity, interval, *self._guest_ip,
                      "1" if ip else "0", repr(float(ask.slow_seconds)),
                      _digest(ask.skeleton), "1" if ask.check_flood else "0",
                      repeats, window, remember, SLOW_TTL_SECONDS],
            )
        except (RedisError, OSError) as exc:
            if not self._degraded:
                log.warning("chat limits lost Redis (%s); this node counts alone", exc)
                self._degraded = True
            return self._local.check_now(ask, now)
        if self._degraded:
            log.info("chat limits reached Redis again")
            self._degraded = False
        if not raw:
            return None
        code, wait = (_text(item) for item in raw)
        return Refusal(code, float(wait))


def _digest(skeleton: str) -> str:
    """A short fixed-size stand-in for the text in Redis (the skeleton itself may be long)."""
    return hashlib.blake2b(skeleton.encode(), digest_size=8).hexdigest()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

