/* crypto_lazy.c: dlopen("libcrypto.so.3") on the first digest call. */
#include <stddef.h>

#include <openssl/evp.h>

#include "crypto_lazy.h"
#include "events/lazylib.h"

enum { F_CTX_NEW, F_CTX_FREE, F_SHA256, F_INIT, F_UPDATE, F_FINAL, F_DIGEST };
static const char *const names[] = { "EVP_MD_CTX_new", "EVP_MD_CTX_free",
	"EVP_sha256", "EVP_DigestInit_ex", "EVP_DigestUpdate",
	"EVP_DigestFinal_ex", "EVP_Digest" };
static void *fn[sizeof(names) / sizeof(names[0])];
static struct lazylib lib = LAZYLIB_INIT("libcrypto.so.3", names, fn);

/* Function types of the symbols (dlsym's void * converts, per POSIX). */
typedef EVP_MD_CTX *ctx_new_fn(void);
typedef void ctx_free_fn(EVP_MD_CTX *);
typedef const EVP_MD *sha256_fn(void);
typedef int init_fn(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
typedef int update_fn(EVP_MD_CTX *, const void *, size_t);
typedef int final_fn(EVP_MD_CTX *, unsigned char *, unsigned int *);
typedef int digest_fn(const void *, size_t, unsigned char *, unsigned int *,
    const EVP_MD *, ENGINE *);

EVP_MD_CTX *
lazy_EVP_MD_CTX_new(void)
{
	return lazylib_ready(&lib) ? ((ctx_new_fn *)fn[F_CTX_NEW])() : NULL;
}

void
lazy_EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
	if (ctx != NULL && lazylib_ready(&lib))
		((ctx_free_fn *)fn[F_CTX_FREE])(ctx);
}

const EVP_MD *
lazy_EVP_sha256(void)
{
	return lazylib_ready(&lib) ? ((sha256_fn *)fn[F_SHA256])() : NULL;
}

int
lazy_EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *md, ENGINE *e)
{
	return lazylib_ready(&lib) && ctx && md ?
	    ((init_fn *)fn[F_INIT])(ctx, md, e) : 0;
}

int
lazy_EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t n)
{
	return lazylib_ready(&lib) && ctx ?
	    ((update_fn *)fn[F_UPDATE])(ctx, d, n) : 0;
}

int
lazy_EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *n)
{
	return lazylib_ready(&lib) && ctx ?
	    ((final_fn *)fn[F_FINAL])(ctx, md, n) : 0;
}

int
lazy_EVP_Digest(const void *data, size_t count, unsigned char *md,
    unsigned int *size, const EVP_MD *type, ENGINE *impl)
{
	return lazylib_ready(&lib) && type ?
	    ((digest_fn *)fn[F_DIGEST])(data, count, md, size, type, impl) : 0;
}
