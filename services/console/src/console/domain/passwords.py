"""Which passwords an account may have, and how they are kept: argon2id hashes, never the password.

The policy follows NIST SP 800-63B rather than composition rules: long enough, not one everybody tries first, not
the user name. Hashing costs tens of milliseconds of CPU on purpose; callers run it off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from pingan_shared.refused import Refused

MIN_LENGTH = 10
MAX_LENGTH = 256  # a bound on the work one sign-in can ask for; far beyond any pass phrase

# Short on purpose: the passwords tried first (the usual lists' heads, Chinese keyboards' and pinyin favourites,
# and this system's own name), at least MIN_LENGTH long or they fail on length anyway. Compared in lower case.
COMMON_PASSWORDS = frozenset({
    "1234567890", "0123456789", "12345678910", "123456789a", "a123456789", "a1234567890", "1234567890a",
    "qwertyuiop", "1qaz2wsx3edc", "1q2w3e4r5t", "1q2w3e4r5t6y", "qwerty1234", "qwerty12345", "qwe1234567",
    "asdfghjkl1", "zxcvbnm123", "password12", "password123", "password1234", "passw0rd12", "p@ssw0rd12",
    "iloveyou12", "iloveyou123", "abc1234567", "abcd123456", "abcdefghij", "abc123456789", "admin12345",
    "admin123456", "administrator", "woaini1314", "woaini5201314", "5201314520", "1314520520", "woaini123456",
    "zhang123456", "wang1234567", "li12345678", "aa12345678", "aaaaaaaaaa", "1111111111", "0000000000",
    "1234554321", "1122334455", "9876543210", "88888888888", "6666666666", "changeme123", "welcome123",
    "pingan12345", "pingan123456", "pinganpingan", "ruian123456", "wenzhou12345",
})


def password_problems(password: str, username: str) -> list[str]:
    """What is wrong with ``password`` for the account ``username``, each as ``中文 (English)``; empty: acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少 {MIN_LENGTH} 个字符 (at least {MIN_LENGTH} characters)")
    if len(password) > MAX_LENGTH:
        problems.append(f"密码最多 {MAX_LENGTH} 个字符 (at most {MAX_LENGTH} characters)")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or (password and len(set(password)) == 1):
        problems.append("这是常见密码，很容易被猜中 (a common password, easily guessed)")
    if username and username.lower() in lowered:
        problems.append("密码不能包含用户名 (must not contain the user name)")
    return problems


def check_password(password: str, username: str, field: str = "password") -> None:
    """Refuse ``password`` (422, one error per problem, all naming ``field``) unless the policy accepts it."""
    problems = password_problems(password, username)
    if problems:
        raise Refused(422, "密码不符合要求：" + "；".join(problems),
                      errors=[{"field": field, "reason": problem} for problem in problems])


@dataclass
class PasswordHashing:
    """argon2id with the configured cost. ``verify`` never raises for a wrong or unreadable hash: it says no."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4
    _hasher: PasswordHasher = field(init=False, repr=False)
    _decoy: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._hasher = PasswordHasher(time_cost=self.time_cost, memory_cost=self.memory_kib,
                                      parallelism=self.parallelism, type=Type.ID)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when ``stored_hash`` was made with other parameters (or another variant) than the configured."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def verify_decoy(self, password: str) -> None:
        """As much work as a real verification, for a name with no account: the answer's timing tells nobody
        which names exist."""
        if self._decoy is None:
            self._decoy = self._hasher.hash("decoy password, matches nothing")
        self.verify(self._decoy, password)
