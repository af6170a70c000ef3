/* COM1 16550: polled output of whole lines under a lock, polled input. */
#include "kernel.h"

#define COM1 0x3F8
static volatile u32 print_lock;

void serial_init(void)
{
    outb(COM1 + 1, 0x00);   /* IER: no interrupts, we poll */
    outb(COM1 + 3, 0x80);   /* DLAB */
    outb(COM1 + 0, 0x01);   /* 115200 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);   /* 8N1 */
    outb(COM1 + 2, 0xC7);   /* FIFOs on, cleared */
    outb(COM1 + 4, 0x03);   /* DTR | RTS */
}

static void putc_raw(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        pause();
    outb(COM1, c);
}

void serial_raw_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            putc_raw('\r');
        putc_raw(*s);
    }
}

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
        while (print_lock)
            pause();
    serial_raw_puts(buf);
    __atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

int serial_getc(void)
{
    if (!(inb(COM1 + 5) & 0x01))
        return -1;
    return inb(COM1);
}
