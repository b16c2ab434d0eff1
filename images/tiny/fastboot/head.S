/*
 * fastboot head: the protected-mode entry of the repacked kernel (see fastboot.c).
 *
 * The kernel's own real-mode setup code (kept unchanged in the bzImage) jumps here in
 * 32-bit protected mode: flat 4 GiB segments, paging off, interrupts off, %esi = the
 * boot_params ("zero page").  We are linked and loaded at 0x100000 (relocatable_kernel
 * is cleared in the header).  Identity-map the first 4 GiB with 2 MiB pages, enter long
 * mode, call fastboot_main() to unpack the kernel, and jump to its startup_64 with
 * %rsi = boot_params, as the kernel's decompressor would.
 */
	.section .text.head, "ax"
	.code32
	.globl	_start
_start:
	cli
	cld
	movl	%esi, boot_params_ptr
	movl	$stack_top, %esp

	/* page tables (zero-filled in the image): PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs */
	movl	$pdpt + 3, pml4
	movl	$pd + 3, %eax
	movl	$pdpt, %edi
	movl	$4, %ecx
1:	movl	%eax, (%edi)
	addl	$4096, %eax
	addl	$8, %edi
	loop	1b
	movl	$pd, %edi
	movl	$0x83, %eax			/* present | writable | 2 MiB page */
	movl	$2048, %ecx
2:	movl	%eax, (%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	2b

	movl	%cr4, %eax
	orl	$0x20, %eax			/* CR4.PAE */
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx		/* EFER */
	rdmsr
	orl	$0x100, %eax			/* EFER.LME */
	wrmsr
	lgdt	gdt_desc
	movl	%cr0, %eax
	orl	$0x80000001, %eax		/* CR0.PG | CR0.PE */
	movl	%eax, %cr0
	ljmp	$0x10, $start64

	.code64
start64:
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%eax, %eax
	movl	%eax, %fs
	movl	%eax, %gs
	movq	$stack_top, %rsp
	movl	boot_params_ptr, %edi
	call	fastboot_main			/* returns the kernel's entry point */
	movl	boot_params_ptr, %esi
	jmp	*%rax

	.section .data, "aw"
	.balign	8
gdt:	.quad	0
	.quad	0
	.quad	0x00af9a000000ffff		/* 0x10 __BOOT_CS: 64-bit code */
	.quad	0x00cf92000000ffff		/* 0x18 __BOOT_DS: flat data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
boot_params_ptr:
	.long	0

	/* in the file (not .bss): the loader fills nothing beyond the image */
	.section .data.tables, "aw"
	.balign	4096
pml4:	.skip	4096
pdpt:	.skip	4096
pd:	.skip	4 * 4096
	.skip	16384
stack_top:

	.section .note.GNU-stack, "", @progbits
