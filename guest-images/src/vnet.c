/*
 * mode=vnet: a virtio-net driver (virtio 1.2 §5.1) on virtio.c, and just enough IPv4 to be
 * checked from outside: it answers ARP requests for its address, ICMP echo requests and UDP
 * datagrams to port 7 (echoed back to the sender), and gets its address from ip= or, with
 * dhcp=1, from a DHCP server (RFC 2131: DISCOVER, OFFER, REQUEST, ACK).  Checksums are
 * computed here (no offloads are negotiated).  With VIRTIO_NET_F_MRG_RXBUF a received frame
 * may span several buffers (rxbuf= makes them small enough to see it happen).
 */
#include "virtio.h"

#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16
#define VIRTIO_NET_S_LINK_UP    1
#define RXQ 0
#define TXQ 1
#define QUEUE_MAX 256
#define TXBUF 2048
#define FRAME_MAX 9216              /* larger frames are counted and dropped */
#define TAG "vnet"

#define ETH_ARP  0x0806
#define ETH_IP   0x0800
#define IP_ICMP  1
#define IP_UDP   17
#define PORT_ECHO 7
#define PORT_BOOTPS 67
#define PORT_BOOTPC 68

static struct vdev dev;
static struct vq rxq, txq;
static u32 hdr_len, rxbuf;
static int mrg;
static u8 *rxmem, *txmem;
static u16 tx_free[QUEUE_MAX], ntx_free;
static u8 mac[6];
static u32 my_ip, my_mask, router, dns;     /* network byte order, as on the wire */
static int link_up = -1, ready;

static struct { u64 rx, tx, arp, icmp, udp, dhcp, drop, merged; } st;

/* frame reassembly (mergeable buffers) */
static u8 frame[FRAME_MAX];
static u32 frame_len, bufs_left, frame_bad;

/* ---- byte order and checksums ---- */

static u16 be16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static u32 get32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }     /* kept in wire order */
static void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }

static u32 sum16(const u8 *p, u32 n, u32 acc)
{
    for (; n > 1; p += 2, n -= 2)
        acc += be16(p);
    if (n)
        acc += (u32)p[0] << 8;
    return acc;
}

static u16 fold(u32 acc)
{
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
    return (u16)~acc;
}

/* UDP checksum over the pseudo-header (RFC 768); 0 is sent as 0xFFFF. */
static u16 udp_csum(const u8 *ip, const u8 *udp, u32 len)
{
    u32 acc = sum16(ip + 12, 8, 0) + IP_UDP + len;
    u16 c = fold(sum16(udp, len, acc));
    return c ? c : 0xFFFF;
}

static void ip_fix(u8 *ip, u32 total)
{
    ip[0] = 0x45;
    put16(ip + 2, (u16)total);
    put16(ip + 6, 0x4000);          /* DF, no fragments */
    ip[8] = 64;
    put16(ip + 10, 0);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
}

static const char *ipstr(u32 ip, char *b)
{
    const u8 *p = (const u8 *)&ip;
    snprintf(b, 16, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    return b;
}

/* ---- transmit ---- */

static void tx_reclaim(void)
{
    u32 id, len;
    while (vq_pop(&txq, &id, &len))
        if (id < txq.size)
            tx_free[ntx_free++] = (u16)id;
}

/* A transmit buffer for a frame (after the zeroed virtio_net_hdr), or NULL if all are in flight. */
static u8 *tx_get(u16 *slot)
{
    tx_reclaim();
    if (!ntx_free) {
        st.drop++;
        return NULL;
    }
    *slot = tx_free[--ntx_free];
    u8 *b = txmem + (u64)*slot * TXBUF;
    memset(b, 0, hdr_len);           /* no offloads; num_buffers is 0 on transmit */
    return b + hdr_len;
}

static void tx_send(u16 slot, u32 len)
{
    if (len < 60)
        len = 60;                   /* Ethernet minimum (without FCS), padding already zero or harmless */
    txq.desc[slot] = (struct vring_desc){ (u64)(txmem + (u64)slot * TXBUF), hdr_len + len, 0, 0 };
    vq_push(&txq, slot);
    vq_kick(&dev, &txq);
    st.tx++;
}

/* Sends a copy of the received frame f (len bytes) with Ethernet addresses swapped: the
 * caller then edits the copy in place into its answer. */
static u8 *reply_to(const u8 *f, u32 len, u16 *slot)
{
    if (len > TXBUF - hdr_len)
        return NULL;
    u8 *t = tx_get(slot);
    if (!t)
        return NULL;
    memcpy(t, f, len);
    memcpy(t, f + 6, 6);
    memcpy(t + 6, mac, 6);
    return t;
}

/* ---- ARP, ICMP, UDP echo ---- */

static void arp_input(const u8 *f, u32 len)
{
    const u8 *a = f + 14;
    if (len < 42 || be16(a) != 1 || be16(a + 2) != ETH_IP || a[4] != 6 || a[5] != 4)
        return;
    st.arp++;
    if (be16(a + 6) != 1 || !my_ip || get32(a + 24) != my_ip)
        return;
    u16 slot;
    u8 *t = reply_to(f, 42, &slot);
    if (!t)
        return;
    u8 *r = t + 14;
    put16(r + 6, 2);                /* reply */
    memcpy(r + 18, a + 8, 10);      /* target: the asker's hardware and protocol address */
    memcpy(r + 8, mac, 6);
    put32(r + 14, my_ip);
    tx_send(slot, 42);
}

static void icmp_input(const u8 *f, u32 len, u32 ihl, u32 total)
{
    const u8 *ic = f + 14 + ihl;
    u32 n = total - ihl;
    if (n < 8 || ic[0] != 8 || fold(sum16(ic, n, 0)) != 0)
        return;
    st.icmp++;
    u16 slot;
    u8 *t = reply_to(f, 14 + total, &slot);
    if (!t)
        return;
    u8 *ip = t + 14, *r = ip + ihl;
    put32(ip + 12, my_ip);
    memcpy(ip + 16, f + 14 + 12, 4);
    ip_fix(ip, total);
    if (ihl > 20) {                 /* options dropped: move the ICMP message up */
        memcpy(ip + 20, r, n);
        r = ip + 20;
        total = 20 + n;
        ip_fix(ip, total);
    }
    r[0] = 0;                       /* echo reply */
    put16(r + 2, 0);
    put16(r + 2, fold(sum16(r, n, 0)));
    tx_send(slot, 14 + total);
}

static void udp_echo(const u8 *f, const u8 *udp, u32 ulen)
{
    st.udp++;
    u16 slot;
    u8 *t = reply_to(f, 14 + 20 + ulen, &slot);
    if (!t)
        return;
    u8 *ip = t + 14, *u = ip + 20;
    memcpy(ip + 12, f + 14 + 16, 4);            /* source: the address it was sent to */
    memcpy(ip + 16, f + 14 + 12, 4);
    memcpy(u, udp + 2, 2);                      /* ports swapped */
    memcpy(u + 2, udp, 2);
    memcpy(u + 4, udp + 4, ulen - 4);
    ip_fix(ip, 20 + ulen);
    put16(u + 6, 0);
    put16(u + 6, udp_csum(ip, u, ulen));
    tx_send(slot, 14 + 20 + ulen);
}

/* ---- DHCP client ---- */

enum { DHCP_OFF, DHCP_SELECTING, DHCP_REQUESTING, DHCP_BOUND, DHCP_FAILED };
static int dhcp_state;
static u32 xid, offer_ip, server_id;
static u64 dhcp_sent;               /* ticks of the last transmission */
static int dhcp_tries;

static void dhcp_send(int type)
{
    u16 slot;
    u8 *t = tx_get(&slot);
    if (!t)
        return;
    memset(t, 0, 14 + 20 + 8 + 300);
    memset(t, 0xFF, 6);
    memcpy(t + 6, mac, 6);
    put16(t + 12, ETH_IP);
    u8 *ip = t + 14, *u = ip + 20, *b = u + 8;
    ip[9] = IP_UDP;
    memset(ip + 16, 0xFF, 4);                   /* from 0.0.0.0 to 255.255.255.255 */
    b[0] = 1;                                   /* BOOTREQUEST */
    b[1] = 1;
    b[2] = 6;
    put32(b + 4, xid);
    put16(b + 10, 0x8000);                      /* broadcast: we cannot take unicast before we have an address */
    memcpy(b + 28, mac, 6);
    u8 *o = b + 236;
    *o++ = 99; *o++ = 130; *o++ = 83; *o++ = 99;    /* magic cookie */
    *o++ = 53; *o++ = 1; *o++ = (u8)type;
    if (type == 3) {                            /* REQUEST: the offer and its server */
        *o++ = 50; *o++ = 4; put32(o, offer_ip); o += 4;
        *o++ = 54; *o++ = 4; put32(o, server_id); o += 4;
    }
    *o++ = 55; *o++ = 3; *o++ = 1; *o++ = 3; *o++ = 6;   /* subnet mask, router, DNS */
    *o++ = 255;
    u32 blen = (u32)(o - b) < 300 ? 300 : (u32)(o - b);
    put16(u, PORT_BOOTPC);
    put16(u + 2, PORT_BOOTPS);
    put16(u + 4, (u16)(8 + blen));
    ip_fix(ip, 20 + 8 + blen);
    put16(u + 6, udp_csum(ip, u, 8 + blen));
    tx_send(slot, 14 + 20 + 8 + blen);
    dhcp_sent = ticks();
    st.dhcp++;
}

static void dhcp_input(const u8 *b, u32 n)
{
    if (n < 240 || b[0] != 2 || get32(b + 4) != xid || memcmp(b + 28, mac, 6) ||
        b[236] != 99 || b[237] != 130 || b[238] != 83 || b[239] != 99)
        return;
    int type = 0;
    u32 sid = 0, mask = 0, rt = 0, ns = 0;
    for (u32 i = 240; i < n && b[i] != 255;) {
        u8 code = b[i];
        if (code == 0) {
            i++;
            continue;
        }
        if (i + 1 >= n || i + 2 + b[i + 1] > n)
            break;
        u8 l = b[i + 1];
        const u8 *v = b + i + 2;
        if (code == 53 && l >= 1) type = v[0];
        else if (code == 54 && l >= 4) sid = get32(v);
        else if (code == 1 && l >= 4) mask = get32(v);
        else if (code == 3 && l >= 4) rt = get32(v);
        else if (code == 6 && l >= 4) ns = get32(v);
        i += 2 + l;
    }
    st.dhcp++;
    if (dhcp_state == DHCP_SELECTING && type == 2) {            /* OFFER */
        offer_ip = get32(b + 16);
        server_id = sid;
        dhcp_state = DHCP_REQUESTING;
        dhcp_tries = 0;
        dhcp_send(3);
    } else if (dhcp_state == DHCP_REQUESTING && type == 5) {    /* ACK */
        my_ip = get32(b + 16);
        my_mask = mask ? mask : 0x00FFFFFF;
        router = rt;
        dns = ns;
        dhcp_state = DHCP_BOUND;
        char a[16], r[16], d[16], m[16], s[16];
        kprintf("VNET DHCP ip=%s router=%s dns=%s mask=%s server=%s\n", ipstr(my_ip, a), ipstr(router, r),
                ipstr(dns, d), ipstr(my_mask, m), ipstr(server_id, s));
    } else if (dhcp_state == DHCP_REQUESTING && type == 6) {    /* NAK: start again */
        dhcp_state = DHCP_SELECTING;
        dhcp_send(1);
    }
}

static void dhcp_timer(void)
{
    if ((dhcp_state != DHCP_SELECTING && dhcp_state != DHCP_REQUESTING) || ticks() - dhcp_sent < (u64)hz)
        return;
    if (++dhcp_tries >= 10) {
        kprintf("VNET ERROR dhcp-timeout state=%s\n", dhcp_state == DHCP_SELECTING ? "discover" : "request");
        dhcp_state = DHCP_FAILED;
        return;
    }
    dhcp_send(dhcp_state == DHCP_SELECTING ? 1 : 3);
}

/* ---- receive ---- */

static void ip_input(const u8 *f, u32 len)
{
    const u8 *ip = f + 14;
    if (len < 34 || (ip[0] >> 4) != 4)
        return;
    u32 ihl = (ip[0] & 15) * 4u, total = be16(ip + 2);
    if (ihl < 20 || total < ihl || 14 + total > len || fold(sum16(ip, ihl, 0)) != 0 || (be16(ip + 6) & 0x3FFF))
        return;                     /* short, bad checksum, or a fragment */
    u32 dst = get32(ip + 16);
    int to_me = my_ip && (dst == my_ip || dst == 0xFFFFFFFFu || dst == (my_ip | ~my_mask));
    if (ip[9] == IP_ICMP && my_ip && dst == my_ip) {
        icmp_input(f, len, ihl, total);
        return;
    }
    if (ip[9] != IP_UDP || total < ihl + 8)
        return;
    const u8 *u = ip + ihl;
    u32 ulen = be16(u + 4);
    if (ulen < 8 || ulen > total - ihl || (be16(u + 6) && fold(sum16(u, ulen, sum16(ip + 12, 8, 0) + IP_UDP + ulen))))
        return;                     /* bad length or checksum (0: none sent) */
    if (be16(u + 2) == PORT_BOOTPC && dhcp_state != DHCP_OFF)
        dhcp_input(u + 8, ulen - 8);
    else if (be16(u + 2) == PORT_ECHO && to_me && dst == my_ip)
        udp_echo(f, u, ulen);
}

static void frame_input(const u8 *f, u32 len)
{
    st.rx++;
    if (len < 14)
        return;
    if (memcmp(f, mac, 6) && !(f[0] & 1))
        return;                     /* not ours (a tap may show us everything) */
    u16 type = be16(f + 12);
    if (type == ETH_ARP)
        arp_input(f, len);
    else if (type == ETH_IP)
        ip_input(f, len);
}

static void rx_post(u16 id)
{
    rxq.desc[id] = (struct vring_desc){ (u64)(rxmem + (u64)id * rxbuf), rxbuf, VRING_DESC_F_WRITE, 0 };
    vq_push(&rxq, id);
}

static int rx_poll(void)
{
    u32 id, len;
    int any = 0;
    while (vq_pop(&rxq, &id, &len)) {
        any = 1;
        if (id >= rxq.size || len > rxbuf) {
            kprintf("VNET ERROR bad-used id=%u len=%u\n", id, len);
            continue;
        }
        const u8 *b = rxmem + (u64)id * rxbuf;
        u32 off = 0;
        if (!bufs_left) {           /* the first buffer of a frame carries the header */
            if (len < hdr_len) {
                st.drop++;
                rx_post((u16)id);
                continue;
            }
            bufs_left = mrg ? (u32)b[10] | (u32)b[11] << 8 : 1;
            if (!bufs_left)
                bufs_left = 1;
            if (bufs_left > 1)
                st.merged++;
            frame_len = 0;
            frame_bad = 0;
            off = hdr_len;
        }
        if (frame_len + (len - off) > FRAME_MAX)
            frame_bad = 1;
        else
            memcpy(frame + frame_len, b + off, len - off);
        frame_len += len - off;
        rx_post((u16)id);
        if (--bufs_left == 0) {
            if (frame_bad)
                st.drop++;
            else
                frame_input(frame, frame_len);
        }
    }
    vq_kick(&dev, &rxq);
    return any;
}

/* ---- set-up and the loop ---- */

static void print_ready(void)
{
    char a[16];
    kprintf("VNET READY mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
            ipstr(my_ip, a));
    ready = 1;
}

static void check_link(void)
{
    int up = vio_has(&dev, VIRTIO_NET_F_STATUS) ? (vio_cfg16(&dev, 6) & VIRTIO_NET_S_LINK_UP) != 0 : 1;
    if (up != link_up && link_up >= 0)
        kprintf("VNET LINK %s\n", up ? "up" : "down");
    link_up = up;
}

static int inited;

void vnet_init(void)
{
    if (!cfg.vnet_ip && !cfg.vnet_dhcp) {
        kprintf("VNET ERROR no-address (ip=a.b.c.d/n or dhcp=1)\n");
        return;
    }
    if (vio_find(&dev, VIRTIO_ID_NET, (u32)cfg.vio_dev, TAG) ||
        vio_negotiate(&dev, 1UL << VIRTIO_NET_F_MAC | 1UL << VIRTIO_NET_F_MRG_RXBUF | 1UL << VIRTIO_NET_F_STATUS |
                            1UL << VIRTIO_F_EVENT_IDX | 1UL << VIRTIO_F_INDIRECT_DESC, TAG) ||
        vio_queue(&dev, &rxq, RXQ, QUEUE_MAX, TAG) || vio_queue(&dev, &txq, TXQ, QUEUE_MAX, TAG))
        return;
    mrg = vio_has(&dev, VIRTIO_NET_F_MRG_RXBUF);
    hdr_len = mrg || vio_has(&dev, VIRTIO_F_VERSION_1) ? 12 : 10;
    rxbuf = (u32)cfg.vnet_rxbuf;
    if (rxbuf > 65536)
        rxbuf = 65536;
    if (!mrg && rxbuf < hdr_len + 1514)
        rxbuf = hdr_len + 1514;     /* without merging a buffer holds a whole frame */
    if (rxbuf < 64)
        rxbuf = 64;
    if (rxq.size > QUEUE_MAX || txq.size > QUEUE_MAX) {
        kprintf("VNET ERROR queue-too-large rx=%u tx=%u max=%u\n", (u32)rxq.size, (u32)txq.size, QUEUE_MAX);
        return;
    }
    rxmem = vio_alloc((u64)rxq.size * rxbuf, 4096);
    txmem = vio_alloc((u64)txq.size * TXBUF, 4096);
    if (!rxmem || !txmem) {
        kprintf("VNET ERROR no-memory\n");
        return;
    }
    if (vio_has(&dev, VIRTIO_NET_F_MAC)) {
        for (u32 i = 0; i < 6; i++)
            mac[i] = vio_cfg8(&dev, i);
    } else {                        /* no MAC from the device: a fixed locally administered one */
        const u8 m[6] = { 0x52, 0x54, 0x00, 0x4A, 0x48, 0x56 };
        memcpy(mac, m, 6);
    }
    for (u16 i = 0; i < txq.size; i++)
        tx_free[ntx_free++] = i;
    for (u16 i = 0; i < rxq.size; i++)
        rx_post(i);
    vio_driver_ok(&dev);
    vq_kick(&dev, &rxq);
    check_link();
    kprintf("VNET DEV mac=%02x:%02x:%02x:%02x:%02x:%02x link=%s mrg_rxbuf=%u hdr=%u rxbuf=%u queues=%u/%u\n",
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], link_up ? "up" : "down", (u32)mrg, hdr_len, rxbuf,
            (u32)rxq.size, (u32)txq.size);
    inited = 1;
    if (cfg.vnet_dhcp) {
        u32 lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        xid = lo ^ hi ^ 0x4A485600;
        dhcp_state = DHCP_SELECTING;
        dhcp_send(1);
    } else {
        my_ip = cfg.vnet_ip;
        my_mask = cfg.vnet_mask;
        print_ready();
    }
}

static u64 last_link_check;

int vnet_poll(void)
{
    if (!inited)
        return 0;
    int any = rx_poll();
    tx_reclaim();
    dhcp_timer();
    if (!ready && dhcp_state == DHCP_BOUND)
        print_ready();
    if (ticks() - last_link_check >= (u64)hz / 10) {
        last_link_check = ticks();
        check_link();
        vio_check_reset(&dev, TAG);
    }
    return any;
}

void vnet_stats(void)
{
    u64 irqs = 0;
    for (int i = 0; i < MAXCPU; i++)
        irqs += percpu[i].irqs;
    kprintf("VNET STATS rx=%lu tx=%lu arp=%lu icmp=%lu udp=%lu dhcp=%lu drop=%lu merged=%lu irqs=%lu\n", st.rx,
            st.tx, st.arp, st.icmp, st.udp, st.dhcp, st.drop, st.merged, irqs);
}
