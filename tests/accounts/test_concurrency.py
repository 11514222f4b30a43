"""One TOTP code submitted twice at the same moment passes once (the device row is locked)."""

import threading

import pytest
from django.db import connection

from accounts import services
from tests.factories import UserFactory, confirmed_totp_device, totp_now


@pytest.mark.django_db(transaction=True)
def test_same_code_submitted_concurrently_is_accepted_once(postgres):
    user = UserFactory()
    device = confirmed_totp_device(user)
    code = totp_now(device)
    barrier = threading.Barrier(4)
    outcomes = []

    def submit():
        barrier.wait()
        try:
            services.verify_second_factor(user, code)
            outcomes.append("accepted")
        except services.TwoFactorError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted", "refused", "refused", "refused"]
