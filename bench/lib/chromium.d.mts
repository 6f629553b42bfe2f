export declare const CHROMIUM: string;
export declare const HEADLESS_ARGS: string[];
