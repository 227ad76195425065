/* LD_PRELOAD shim for pidgin-sipe 1.25 on Debian 12's libxml2 (see
 * docs/interop.md, pidgin-sipe).
 *
 * sipe hands xmlSAXUserParseMemory() a handler marked XML_SAX2_MAGIC that only
 * fills the SAX1 startElement/endElement callbacks; this libxml2 then calls no
 * element callback at all and every sipe_xml_parse() yields NULL.  We pass on a
 * copy of the handler that is not marked SAX2, so libxml2 uses the SAX1 ones. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libxml/parser.h>

typedef int (*parse_fn)(xmlSAXHandlerPtr, void *, const char *, int);

int xmlSAXUserParseMemory(xmlSAXHandlerPtr sax, void *user_data, const char *buffer, int size)
{
	static parse_fn real;
	xmlSAXHandler sax1;

	if (!real)
		real = (parse_fn)dlsym(RTLD_NEXT, "xmlSAXUserParseMemory");
	if (!sax || sax->initialized != XML_SAX2_MAGIC || sax->startElementNs || sax->endElementNs)
		return real(sax, user_data, buffer, size);
	sax1 = *sax;
	sax1.initialized = 1; /* any non-SAX2 value: use startElement/endElement */
	return real(&sax1, user_data, buffer, size);
}
