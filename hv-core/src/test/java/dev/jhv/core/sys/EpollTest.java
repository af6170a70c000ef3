package dev.jhv.core.sys;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class EpollTest {
    @Test
    void reportsTheTokenOfTheSignalledEventFdOnly() {
        try (var epoll = new Epoll(); var a = EventFd.create(true); var b = EventFd.create(true)) {
            epoll.add(a.fd(), Epoll.EPOLLIN, 7);
            epoll.add(b.fd(), Epoll.EPOLLIN, 9);
            assertThat(epoll.await(0).count()).isZero();
            b.signal();
            Epoll.Ready r = epoll.await(1000);
            assertThat(r.count()).isEqualTo(1);
            assertThat(r.token(0)).isEqualTo(9);
            assertThat(r.events(0) & Epoll.EPOLLIN).isNotZero();
            assertThat(b.read()).isEqualTo(1);
            epoll.remove(b.fd());
            b.signal();
            assertThat(epoll.await(0).count()).isZero();
        }
    }
}
