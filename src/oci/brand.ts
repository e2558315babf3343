/** Nominal typing for strings that were validated once at the edge. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };
