/*
 * fastboot: unpack an LZ4-compressed (legacy format) kernel image in place of the
 * kernel's own XZ decompressor.
 *
 * Under QEMU TCG the Debian kernel's XZ decompressor takes about 5 s of CPU, a third of
 * the boot; LZ4 does the same job in well under a second.  build-tiny extracts the
 * kernel (vmlinux) from /boot/vmlinuz-*, flattens it at its physical load address and
 * compresses it with "lz4 -l"; it then keeps the kernel's real-mode setup code and
 * replaces the protected-mode part with head.S + this file + the payload:
 *
 *   struct fb_header | LZ4 legacy stream
 *
 * fastboot_main() unpacks it to the kernel's physical load address (moving it out of the
 * way first if it reaches that address), zeroes the rest of the kernel's memory image
 * and returns its entry point.
 * On any inconsistency it prints a message on the serial port and halts.
 */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

struct fb_header {
	u8 magic[8];     /* "OCVMFB01" */
	u64 comp_size;   /* bytes of LZ4 legacy stream after this header */
	u64 dest;        /* physical load address of the kernel image */
	u64 image_size;  /* bytes the stream unpacks to */
	u64 mem_size;    /* bytes of memory the image occupies (>= image_size, rest zeroed) */
	u64 entry;       /* physical entry point (startup_64) */
};

extern struct fb_header payload_header;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void serial_puts(const char *s)
{
	for (; *s; s++) {
		int i;
		for (i = 0; i < 100000 && !(inb(0x3f8 + 5) & 0x20); i++)
			;
		outb(0x3f8, (u8)*s);
	}
}

static void die(const char *msg)
{
	serial_puts("\r\nopencvm-tiny: fastboot: ");
	serial_puts(msg);
	serial_puts("; system halted\r\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void move(u8 *dst, const u8 *src, u64 n)
{
	if (dst == src || n == 0)
		return;
	if (dst < src) {
		for (; n >= 8; n -= 8, dst += 8, src += 8)
			*(u64 *)dst = *(const u64 *)src;
		while (n--)
			*dst++ = *src++;
	} else {
		dst += n;
		src += n;
		for (; n >= 8; n -= 8) {
			dst -= 8;
			src -= 8;
			*(u64 *)dst = *(const u64 *)src;
		}
		while (n--)
			*--dst = *--src;
	}
}

static inline u32 rd32(const u8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24; }

/* One LZ4 block.  Returns the end of the output, or 0 on corrupt input. */
static u8 *lz4_block(const u8 *ip, const u8 *iend, u8 *op, u8 *ostart, u8 *oend)
{
	for (;;) {
		u32 token = *ip++;
		u64 len = token >> 4;
		if (len == 15) {
			u8 b;
			do {
				if (ip >= iend)
					return 0;
				b = *ip++;
				len += b;
			} while (b == 255);
		}
		if (len > (u64)(iend - ip) || len > (u64)(oend - op))
			return 0;
		/* literals: forward copy; in place the output always trails the input */
		for (; len >= 8; len -= 8, op += 8, ip += 8)
			*(u64 *)op = *(const u64 *)ip;
		while (len--)
			*op++ = *ip++;
		if (ip >= iend)
			return op; /* the last sequence has literals only */
		if (iend - ip < 2)
			return 0;
		u64 off = ip[0] | ip[1] << 8;
		ip += 2;
		if (off == 0 || off > (u64)(op - ostart))
			return 0;
		len = token & 15;
		if (len == 15) {
			u8 b;
			do {
				if (ip >= iend)
					return 0;
				b = *ip++;
				len += b;
			} while (b == 255);
		}
		len += 4;
		if (len > (u64)(oend - op))
			return 0;
		const u8 *m = op - off;
		if (off >= 8) {
			for (; len >= 8; len -= 8, op += 8, m += 8)
				*(u64 *)op = *(const u64 *)m;
		} else if (off == 1) {
			u64 v = m[0] * 0x0101010101010101UL;
			for (; len >= 8; len -= 8, op += 8)
				*(u64 *)op = v;
		}
		while (len--)
			*op++ = *m++;
	}
}

u64 fastboot_main(u8 *boot_params)
{
	struct fb_header *h = &payload_header;
	static const char magic[8] = "OCVMFB01";
	int i;

	for (i = 0; i < 8; i++)
		if (h->magic[i] != magic[i])
			die("bad payload header");
	if (h->mem_size < h->image_size)
		die("bad payload sizes");

	/* The payload was loaded right after this stub (at 1 MiB).  If it ends below the
	 * kernel's load address, unpack it from there; otherwise first move it to the end of
	 * the destination range plus a margin, so that unpacking in place never overwrites
	 * input not yet read. */
	u64 src = (u64)(h + 1), in = src;
	u64 top = h->dest + h->mem_size;
	if (src + h->comp_size > h->dest) {
		u64 margin = (h->comp_size >> 7) + 65536;
		in = (h->dest + h->image_size + margin - h->comp_size) & ~15UL;
		if (in + h->comp_size > top)
			top = in + h->comp_size;
	}
	u64 rd = *(u32 *)(boot_params + 0x218), rd_size = *(u32 *)(boot_params + 0x21c);
	if (rd_size && rd < top && rd + rd_size > h->dest)
		die("the initramfs overlaps the kernel (too little RAM?)");
	move((u8 *)in, (const u8 *)src, h->comp_size);

	const u8 *ip = (const u8 *)in, *iend = ip + h->comp_size;
	u8 *out = (u8 *)h->dest, *op = out, *oend = out + h->image_size;
	if (iend - ip < 4 || rd32(ip) != 0x184C2102)
		die("not an LZ4 legacy stream");
	while (iend - ip >= 4) {
		u32 n = rd32(ip);
		ip += 4;
		if (n == 0x184C2102)
			continue; /* concatenated streams */
		if (n > (u64)(iend - ip))
			die("truncated LZ4 block");
		op = lz4_block(ip, ip + n, op, out, oend);
		if (!op)
			die("corrupt LZ4 block");
		ip += n;
	}
	if (op != oend)
		die("kernel image size mismatch");
	for (op = oend; op < out + h->mem_size; op++)
		*op = 0;
	return h->entry;
}
