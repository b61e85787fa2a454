/*
 * crypto_lazy.h: the few libcrypto (OpenSSL) digest calls provium makes,
 * resolved with dlopen on first use.
 *
 * Why: every test file runs in a fresh runner process, and linking
 * libcrypto costs each exec about 1 ms (its relocations and constructors),
 * more than the Lua interpreter itself, while only fixture cache keys,
 * the overlay cache and run-history ids ever hash anything.  Include this
 * after <openssl/evp.h>: the EVP names below then call the lazy versions.
 * If libcrypto.so.3 cannot be loaded they fail the way OpenSSL reports
 * errors (NULL / 0), and callers already handle that.
 */
#ifndef PROVIUM_CRYPTO_LAZY_H
#define PROVIUM_CRYPTO_LAZY_H

#include <openssl/evp.h>

EVP_MD_CTX *lazy_EVP_MD_CTX_new(void);
void lazy_EVP_MD_CTX_free(EVP_MD_CTX *ctx);
const EVP_MD *lazy_EVP_sha256(void);
int lazy_EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *md, ENGINE *e);
int lazy_EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t n);
int lazy_EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md,
    unsigned int *n);
int lazy_EVP_Digest(const void *data, size_t count, unsigned char *md,
    unsigned int *size, const EVP_MD *type, ENGINE *impl);

#define EVP_MD_CTX_new     lazy_EVP_MD_CTX_new
#define EVP_MD_CTX_free    lazy_EVP_MD_CTX_free
#define EVP_sha256         lazy_EVP_sha256
#define EVP_DigestInit_ex  lazy_EVP_DigestInit_ex
#define EVP_DigestUpdate   lazy_EVP_DigestUpdate
#define EVP_DigestFinal_ex lazy_EVP_DigestFinal_ex
#define EVP_Digest         lazy_EVP_Digest

#endif
