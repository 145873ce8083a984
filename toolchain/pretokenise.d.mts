/** src/jslex.h's token list from LEX_EQUAL (138) to LEX_R_OF */
export declare const TOKENS: string[];
export declare const RAW_STRING8: number;
export declare const RAW_STRING16: number;
export declare const RAW_INT0: number;
export declare const RAW_INT8: number;
export declare const RAW_INT16: number;
/** The pretokenised image of ES5 source (a latin1 string: one char per byte). */
export declare function tokenise(js: string): string;
/** Whether code holds a token byte Espruino's lexer would read as one. */
export declare function isTokenised(code: string): boolean;
/** The JavaScript source a pretokenised image stands for, as Espruino's lexer reads it. */
export declare function untokenise(code: string): string;
/** The first token where two sources differ (numbers and strings compared by value), or "" */
export declare function firstTokenDifference(a: string, b: string): string;
/** raw strings longer than this are not read by the lexer */
export declare const RAW_SKIPPED_ABOVE: number;
/** The bytes Espruino's lexer reads in an image: all but the inside of long raw strings. */
export declare function lexedBytes(code: string): number;
