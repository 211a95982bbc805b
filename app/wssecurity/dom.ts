// Small DOM helpers for strict structural checks: elements are matched by namespace and local name,
// never by prefix, and stray text where only elements belong is reported, not skipped.
const ELEMENT = 1;
const TEXT = 3;
const CDATA = 4;

export function isElement(node: Node | null | undefined): node is Element {
  return !!node && node.nodeType === ELEMENT;
}

export function is(element: Element, namespace: string, localName: string): boolean {
  return element.namespaceURI === namespace && element.localName === localName;
}

export function childElements(element: Element): Element[] {
  const out: Element[] = [];
  for (let child = element.firstChild; child; child = child.nextSibling) if (isElement(child)) out.push(child);
  return out;
}

/** Whether the element has character data other than whitespace directly inside it (mixed content). */
export function hasText(element: Element): boolean {
  for (let child = element.firstChild; child; child = child.nextSibling) {
    if ((child.nodeType === TEXT || child.nodeType === CDATA) && (child as CharacterData).data.trim() !== '') return true;
  }
  return false;
}

/** The text of an element that may contain nothing but text; undefined when it has child elements. */
export function textOnly(element: Element): string | undefined {
  if (childElements(element).length > 0) return undefined;
  return element.textContent ?? '';
}

/** Every element of the subtree rooted at `root` (root included), without recursion. */
export function allElements(root: Element): Element[] {
  const out: Element[] = [];
  const stack: Element[] = [root];
  while (stack.length > 0) {
    const element = stack.pop()!;
    out.push(element);
    const children = childElements(element);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

export function attributeNS(element: Element, namespace: string | null, localName: string): string | undefined {
  for (const attr of Array.from(element.attributes)) {
    if (attr.localName === localName && (attr.namespaceURI ?? null) === namespace) return attr.value;
  }
  return undefined;
}

export function describeElement(element: Element): string {
  return element.namespaceURI ? `{${element.namespaceURI}}${element.localName}` : element.localName;
}
